#!/usr/bin/env python3
"""A raw client of enf-agent's protocol (enf-agent(1), PROTOCOL) for the
fault tests in t/agent.bats: what a broken or hostile client sends.

    agent-raw.py SOCKET garbage|truncated|oversized|unknown
    agent-raw.py SOCKET badfrom|sealfrom     OPEN with a --from that is no
                                            identity file; SEAL with one
    agent-raw.py SOCKET partial REQUEST      SIGN, no COMMIT, then close
    agent-raw.py SOCKET idle N               hold N connections until stdin ends
    agent-raw.py SOCKET inflight REQUEST GONE  SIGN, wait until file GONE
                                            disappears, COMMIT, print status
Prints what the agent answered: "done STATUS MESSAGE", "result STATUS SEQ",
"closed" (end of stream), or "busy" counts for idle."""
import os, socket, struct, sys, time

def frame(t, body=b""):
    return struct.pack(">IB", len(body) + 1, t) + body

def string(b):
    return struct.pack(">I", len(b)) + b

def sign(req):
    return frame(0x01, b"\0" + string(b"") + string(req))

def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(30)
    return s

def read_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            return None
        b += c
    return b

def answer(s):
    while True:
        h = read_exact(s, 5)
        if h is None:
            return "closed"
        n, t = struct.unpack(">IB", h)
        body = read_exact(s, n - 1)
        if body is None:
            return "closed"
        if t == 0x81:
            continue
        if t == 0x83:
            ml = struct.unpack(">I", body[1:5])[0]
            return "done %d %s" % (body[0], body[5:5 + ml].decode())
        if t == 0x82:
            return "result %d %d" % (body[0], struct.unpack(">Q", body[1:9])[0])
        return "frame %d" % t

def main():
    path, what = sys.argv[1], sys.argv[2]
    if what == "idle":
        conns = [connect(path) for _ in range(int(sys.argv[3]))]
        print("open %d" % len(conns), flush=True)
        sys.stdin.read()
        return
    s = connect(path)
    if what == "garbage":
        s.sendall(os.urandom(3) + b"\x77" + os.urandom(200))
    elif what == "unknown":
        s.sendall(frame(0x42, b"x"))
    elif what == "truncated":
        s.sendall(struct.pack(">IB", 1000, 0x01) + b"\0" * 10)
        s.shutdown(socket.SHUT_WR)
    elif what == "oversized":
        s.sendall(struct.pack(">IB", 0xFFFFFFF0, 0x01) + b"\0" * 64)
    elif what in ("badfrom", "sealfrom"):
        t = 0x04 if what == "badfrom" else 0x03
        s.sendall(frame(t, b"\x08" + string(b"") + string(b"not an identity file\n")))
        try:
            s.sendall(frame(0x06))
        except (BrokenPipeError, ConnectionResetError):
            pass    # refused on the first frame: its answer is already waiting
    elif what == "partial":
        s.sendall(sign(open(sys.argv[3], "rb").read()))
        s.close()
        print("closed")
        return
    elif what == "inflight":
        s.sendall(sign(open(sys.argv[3], "rb").read()))
        while os.path.exists(sys.argv[4]):
            time.sleep(0.05)
        s.sendall(frame(0x02))
    print(answer(s))

main()
