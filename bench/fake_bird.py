#!/usr/bin/python3
"""A tiny fake BIRD control socket that serves recorded replies (python3 stdlib only).

  fake_bird.py serve --socket PATH --greeting "BIRD 2.0.12" --status FILE --protocols FILE
  fake_bird.py scale --in FILE --out FILE --protocols N

`serve` answers the greeting, `restrict` (0016 Access restricted), `show status`, `show
protocols all` (and `show protocols`, derived from it) with the recorded bytes, anything else
with `9001 syntax error`. `fake stats` answers `0000 <command>=<count> ...` so a benchmark can
count the rounds an exporter made. It runs until SIGTERM/SIGINT.

`scale` turns a recorded `show protocols all` reply of the bench lab (BGP protocols named
`Mesh_10_<net>_X_Y`, neighbour 10.<net>.X.Y) into one with N BGP protocols: copy k of a
block gets net + 10*k in its name and neighbour address; non-BGP blocks are kept once.
"""

import argparse
import os
import re
import signal
import socketserver
import sys
import threading

RESTRICTED = b"0016 Access restricted\n"
SYNTAX_ERROR = b"9001 syntax error\n"


def split_blocks(reply):
    """`show protocols all` -> (header line, [protocol blocks], final line); lines keep '\\n'."""
    lines = reply.splitlines(keepends=True)
    if not lines or not lines[0].startswith(b"2002-") or not re.match(rb"\d{4} ", lines[-1]):
        raise ValueError("not a `show protocols all` reply")
    blocks = []
    for line in lines[1:-1]:
        if line.startswith(b"1002-"):
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
        else:
            raise ValueError(f"line before the first protocol: {line[:60]!r}")
    return lines[0], [b"".join(b) for b in blocks], lines[-1]


def block_proto(block):
    fields = block[5:block.index(b"\n")].split()
    return fields[1].decode() if len(fields) > 1 else ""


def rename(block, k):
    """Copy k of a bench-lab BGP block: 10.<net>.X.Y / 10_<net>_X_Y -> net + 10*k (net 1-9)."""
    if k == 0:
        return block
    return re.sub(rb"(?<![0-9])10([._])([1-9])\1(?=[0-9])",
                  lambda m: b"10" + m.group(1) + str(int(m.group(2)) + 10 * k).encode()
                  + m.group(1),
                  block)


def scale_reply(reply, n):
    header, blocks, final = split_blocks(reply)
    bgp = [b for b in blocks if block_proto(b) == "BGP"]
    other = [b for b in blocks if block_proto(b) != "BGP"]
    if not bgp:
        raise ValueError("no BGP protocol in the reply")
    out = [header] + other
    for i in range(n):
        out.append(rename(bgp[i % len(bgp)], i // len(bgp)))
    out.append(final)
    return b"".join(out)


def summary_from_all(reply):
    """`show protocols` rows from a `show protocols all` reply (first line of each block)."""
    header, blocks, final = split_blocks(reply)
    rows = [b[:b.index(b"\n") + 1] for b in blocks]
    rows = [rows[0]] + [b" " + r[5:] for r in rows[1:]] if rows else []
    return header + b"".join(rows) + final


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        srv = self.server
        sock = self.request
        sock.sendall(b"0001 " + srv.greeting + b" ready.\n")
        buf = b""
        while True:
            try:
                data = sock.recv(4096)
            except OSError:
                return
            if not data:
                return
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                cmd = line.strip().decode(errors="replace")
                with srv.lock:
                    srv.counts[cmd] = srv.counts.get(cmd, 0) + 1
                    stats = " ".join(f"{k.replace(' ', '_')}={v}" for k, v in srv.counts.items())
                if cmd == "restrict":
                    reply = RESTRICTED
                elif cmd in srv.replies:
                    reply = srv.replies[cmd]
                elif cmd == "fake stats":
                    reply = b"0000 " + stats.encode() + b"\n"
                else:
                    reply = SYNTAX_ERROR
                try:
                    sock.sendall(reply)
                except OSError:
                    return


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def serve(args):
    with open(args.status, "rb") as f:
        status = f.read()
    with open(args.protocols, "rb") as f:
        protocols = f.read()
    if os.path.exists(args.socket):
        os.unlink(args.socket)
    server = Server(args.socket, Handler)
    server.greeting = args.greeting.encode()
    server.replies = {"show status": status, "show protocols all": protocols,
                      "show protocols": summary_from_all(protocols)}
    server.counts = {}
    server.lock = threading.Lock()

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        if os.path.exists(args.socket):
            os.unlink(args.socket)


def scale(args):
    with open(args.input, "rb") as f:
        reply = f.read()
    out = scale_reply(reply, args.protocols)
    with open(args.out, "wb") as f:
        f.write(out)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--socket", required=True)
    s.add_argument("--greeting", default="BIRD 2.0.12")
    s.add_argument("--status", required=True)
    s.add_argument("--protocols", required=True)
    c = sub.add_parser("scale")
    c.add_argument("--in", dest="input", required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--protocols", type=int, required=True)
    args = p.parse_args()
    {"serve": serve, "scale": scale}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
