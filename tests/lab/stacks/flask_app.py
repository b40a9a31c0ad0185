# The lab's Flask app (tests/lab/stacks/flask_app.py). The line "# @@CORS@@" is replaced by the
# scenario's CORS section. Provides app and authenticate().
import os

from flask import Flask, jsonify, request

app = Flask(__name__)


def authenticate():
    """Auth the lab can satisfy: any Authorization header, else a 401 response."""
    if "Authorization" not in request.headers:
        return jsonify(error="unauthorized"), 401
    return None


@app.route("/s/<scn>/data", methods=["GET", "POST", "PUT", "DELETE"])
def data(scn):
    return jsonify(ok=True, method=request.method)


@app.put("/s/<scn>/items/")
def items(scn):
    return jsonify(ok=True, method=request.method)


@app.get("/s/<scn>/v2/report")
def report_v2(scn):
    return jsonify(report=2)


@app.get("/s/<scn>/fail")
def fail(scn):
    raise RuntimeError("lab: failing route")


# @@CORS@@

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ["PORT"]), threaded=True)
