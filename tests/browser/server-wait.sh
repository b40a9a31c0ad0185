# Sourced by the browser suites: wait_for_server OUT PID waits up to 30 s, while the scenario
# server PID lives, for OUT/ports.json, and fails with the server's stderr (OUT/server.err) if it
# never comes (on 2026-12-04 it did not answer within 5 s on a loaded CI machine).
wait_for_server() {
  local out=$1 pid=$2
  for _ in $(seq 600); do
    [ -s "$out/ports.json" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  [ -s "$out/ports.json" ] && return 0
  echo "scenario server did not start; its stderr:" >&2
  cat "$out/server.err" >&2
  exit 1
}
