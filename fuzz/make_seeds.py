#!/usr/bin/env python3
"""Raw seed inputs for the fuzz targets, from captures/ (and a report JSON from corswatch
analyze). Writes fuzz/seeds-raw/<target>/; fuzz/README.md says how they are minimised into
fuzz/corpus/<target>/ (libFuzzer -merge=1 into an empty directory).

usage: python3 fuzz/make_seeds.py REPORT.json [REPORT.json...]
"""
import hashlib, json, os, random, struct, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CAP = os.path.join(ROOT, 'captures')
OUT = os.path.join(ROOT, 'fuzz', 'seeds-raw')
MAX = 4096
rnd = random.Random(13)


def put(target, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), 'wb') as f:
        f.write(data[:MAX])


def pcap_packets(path):
    d = open(path, 'rb').read()
    link = struct.unpack('<I', d[20:24])[0]
    pos, out = 24, []
    while pos + 16 <= len(d):
        incl = struct.unpack('<I', d[pos + 8:pos + 12])[0]
        out.append((d[pos:pos + 16 + incl], d[pos + 16:pos + 16 + incl]))
        pos += 16 + incl
    return d[:24], link, out


def tcp_payload(link, frame):
    """(4-tuple, payload) of an Ethernet or raw IPv4/IPv6 TCP frame, else None."""
    off = 14 if link == 1 else 0
    if link == 1:
        et = struct.unpack('>H', frame[12:14])[0]
        if et not in (0x0800, 0x86dd):
            return None
    ip = frame[off:]
    if not ip:
        return None
    if ip[0] >> 4 == 4:
        ihl = (ip[0] & 15) * 4
        if ip[9] != 6:
            return None
        src, dst, tcp = ip[12:16], ip[16:20], ip[ihl:]
    elif ip[0] >> 4 == 6:
        if ip[6] != 6:
            return None
        src, dst, tcp = ip[8:24], ip[24:40], ip[40:]
    else:
        return None
    if len(tcp) < 20:
        return None
    sp, dp = struct.unpack('>HH', tcp[:4])
    return (src, sp, dst, dp), tcp[(tcp[12] >> 4) * 4:]


pcaps = [os.path.join(CAP, f) for f in ('chromium-loopback.pcap', 'firefox-loopback.pcap',
                                         'chromium-https-loopback.pcap')]
pcaps += [os.path.join(CAP, 'lab', f) for f in ('proxies.pcap',)]
for path in pcaps:
    hdr, link, pkts = pcap_packets(path)
    # pcap_file: the header and a run of packets.
    for i in range(0, len(pkts), 40):
        buf = hdr
        for raw, _ in pkts[i:i + 12]:
            if len(buf) + len(raw) > MAX:
                break
            buf += raw
        put('pcap_file', buf)
    # frames: [link index, length, frame] (index 1 = Ethernet, 3 = raw IP), frames < 256 bytes.
    idx = {1: 1, 101: 3, 0: 0, 12: 2, 113: 5}.get(link, 1)
    for i in range(0, len(pkts), 50):
        buf = b''
        for _, fr in pkts[i:i + 10]:
            fr = fr[:255]
            buf += bytes([idx, len(fr)]) + fr
        put('frames', buf)
    # http1 (raw mode): the two streams of a few plain HTTP connections.
    if 'https' in path:
        continue
    conns = {}
    for _, fr in pkts:
        t = tcp_payload(link, fr)
        if not t or not t[1]:
            continue
        key, pl = t
        rev = (key[2], key[3], key[0], key[1])
        if rev in conns:
            conns[rev][1].extend(pl)
        else:
            conns.setdefault(key, [bytearray(), bytearray()])[0].extend(pl)
    for (q, r) in list(conns.values())[:6]:
        q, r = bytes(q[:1800]), bytes(r[:2200])
        if q.startswith(b'HTTP/'):
            q, r = r, q
        put('http1', b'\x01' + struct.pack('<H', len(q)) + q + r)

# pcapng: its first blocks.
put('pcap_file', open(os.path.join(CAP, 'chromium-https-loopback.pcapng'), 'rb').read()[:MAX])

# har: small HAR files of one to three entries.
for name in ('chromium-devtools.har', 'firefox-devtools.har', 'chromium-playwright.har',
             'lab/stale-cache.har'):
    d = json.load(open(os.path.join(CAP, name)))
    entries = d['log']['entries']
    for i in range(0, len(entries), max(1, len(entries) // 6)):
        for k in (1, 2, 3):
            log = {'log': {'version': '1.2', 'creator': d['log'].get('creator', {}),
                           'entries': entries[i:i + k]}}
            for e in log['log']['entries']:
                e.get('response', {}).get('content', {}).pop('text', None)
            data = json.dumps(log, separators=(',', ':')).encode()
            if len(data) <= MAX:
                put('har', data)

# merge: reports from corswatch analyze (those that fit), and bytes for generated reports.
for path in sys.argv[1:]:
    data = open(path, 'rb').read()
    if len(data) <= MAX:
        put('merge', data)
    r = json.loads(data)
    r['kinds'] = r['kinds'][:1]
    for k in r['kinds']:
        k['examples'] = k['examples'][:1]
    put('merge', json.dumps(r, separators=(',', ':')).encode())

# Generator-driven targets: random bytes of a few lengths.
for target, lengths in (('reassembly', (16, 48, 96, 200)), ('classify', (32, 96, 256, 600)),
                        ('merge', (64, 256, 600)), ('tls_records', (8, 40, 120)),
                        ('http1', (24, 80, 200))):
    for n in lengths:
        for _ in range(3):
            data = bytes(rnd.randrange(256) for _ in range(n))
            if target == 'http1':
                data = b'\x00' + data  # valid-traffic mode
            put(target, data)

# h2: [side | length << 1, bytes] pieces: settings, a request, a response, a reset.
def frame(typ, flags, stream, payload):
    return struct.pack('>I', len(payload))[1:] + bytes([typ, flags]) + struct.pack('>I', stream) + payload

def piece(side, data):
    out = b''
    while data:
        out += bytes([side | (min(len(data), 127) << 1)]) + data[:127]
        data = data[127:]
    return out

settings = frame(4, 0, 0, b'')
req = frame(1, 5, 1, bytes([0x82, 0x86, 0x84, 0x41, 0x01, ord('h')]) + b'\x40\x06origin\x08http://o')
resp = frame(1, 4, 1, bytes([0x88]) + b'\x40\x1baccess-control-allow-origin\x01*') + frame(0, 1, 1, b'hi')
put('h2', piece(0, settings) + piece(1, settings) + piece(0, req) + piece(1, resp))
put('h2', piece(0, settings + req) + piece(1, frame(3, 0, 1, b'\x00\x00\x00\x08')))
put('h2', piece(1, settings + frame(8, 0, 0, b'\x00\x01\x00\x00')) + piece(0, frame(6, 0, 0, b'12345678')))
