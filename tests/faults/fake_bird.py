#!/usr/bin/python3
"""A scriptable fake BIRD control socket for the fault tests (python3 stdlib only).

  fake_bird.py --socket PATH --status FILE --protocols FILE [--scale N] [--greeting TEXT]
               [--mode-file FILE] [--stats FILE]

It greets, answers `restrict` with 0016 and `show status` / `show protocols all` with the
recorded replies, the way BIRD does, until killed. `--scale N` turns the recorded
`show protocols all` into one with N BGP protocols (copy k of each recorded BGP block gets its
name and neighbour address renamed). The socket is bound under a temporary name and renamed
into place once it listens, so a test can replace a running fake's socket file atomically.

The behaviour comes from the mode file, read again before every greeting and every command
(a missing file means `good`); its first line is a mode and an optional number:

  good         answer like BIRD
  hang         greet, then read commands and never answer any
  mute         accept the connection and never send anything
  half         answer `restrict`; send the first half of any other reply and close
  big N        like good, but `show protocols all` is an N-byte reply (valid framing)
  slow S       like good, each reply sent in 64-byte pieces S seconds apart
  flaky N      like good, but every Nth `show` command gets half a reply and a close

`--stats FILE` is rewritten (atomically, every 100 ms and at exit) with counters, one
`name value` per line: listening, connections, commands, show_status, show_protocols,
replies_cut, send_errors.
"""

import argparse
import os
import re
import signal
import socket
import sys
import threading
import time

RESTRICTED = b"0016 Access restricted\n"
SYNTAX_ERROR = b"9001 syntax error\n"
PIECE = 64


class Stats:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.values = {"listening": 0, "connections": 0, "commands": 0, "show_status": 0,
                       "show_protocols": 0, "replies_cut": 0, "send_errors": 0}

    def add(self, name, n=1):
        with self.lock:
            self.values[name] += n
            return self.values[name]

    def write(self):
        if not self.path:
            return
        with self.lock:
            text = "".join(f"{k} {v}\n" for k, v in self.values.items())
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.path)


def split_blocks(reply):
    """`show protocols all` -> (heading line, [protocol blocks], final line)."""
    lines = reply.splitlines(keepends=True)
    if not lines or not lines[0].startswith(b"2002-") or not re.match(rb"\d{4} ", lines[-1]):
        raise ValueError("not a `show protocols all` reply")
    blocks = []
    for line in lines[1:-1]:
        if line.startswith(b"1002-") or not blocks:
            blocks.append([line])
        else:
            blocks[-1].append(line)
    return lines[0], [b"".join(b) for b in blocks], lines[-1]


def is_bgp(block):
    fields = block[5:block.index(b"\n")].split()
    return len(fields) > 1 and fields[1] == b"BGP"


def scale(reply, n):
    """N BGP protocols: copy k of a block renames _10_99_0_X / 10.99.0.X to a unique net."""
    heading, blocks, final = split_blocks(reply)
    bgp = [b for b in blocks if is_bgp(b)]
    out = [heading] + [b for b in blocks if not is_bgp(b)]
    for i in range(n):
        k = i // len(bgp)
        a, b = 100 + k // 250, k % 250
        block = bgp[i % len(bgp)]
        block = block.replace(b"_10_99_0_", b"_10_%d_%d_" % (a, b))
        block = block.replace(b"10.99.0.", b"10.%d.%d." % (a, b))
        out.append(block)
    out.append(final)
    return b"".join(out)


def big_reply(size):
    """A well-framed `show protocols all` of about `size` bytes (one protocol, long details)."""
    head = (b"2002-name     proto    table    state  since       info\n"
            b"1002-Mesh_10_99_0_1 BGP      master   up     06:47:46    Established   \n"
            b"1006-  Description:    big\n")
    line = b"   Description:    " + b"x" * 100 + b"\n"
    count = max(0, (size - len(head)) // len(line))
    return head + line * count + b"0000 \n"


class Fake:
    def __init__(self, args):
        self.args = args
        self.status = open(args.status, "rb").read()
        self.protocols = open(args.protocols, "rb").read()
        if args.scale:
            self.protocols = scale(self.protocols, args.scale)
        self.greeting = args.greeting.encode() + b"\n"
        self.stats = Stats(args.stats)
        self.big_cache = {}

    def mode(self):
        try:
            with open(self.args.mode_file) as f:
                words = f.readline().split()
        except (OSError, TypeError):
            words = []
        name = words[0] if words else "good"
        arg = float(words[1]) if len(words) > 1 else None
        return name, arg

    def send(self, conn, data, mode):
        name, arg = mode
        if name == "slow":
            for i in range(0, len(data), PIECE):
                conn.sendall(data[i:i + PIECE])
                time.sleep(arg or 0.01)
        else:
            conn.sendall(data)

    def serve(self, conn):
        self.stats.add("connections")
        buf = b""
        try:
            mode = self.mode()
            if mode[0] == "mute":
                while conn.recv(4096):
                    pass
                return
            self.send(conn, self.greeting, mode)
            while True:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    command = line.decode(errors="replace").strip()
                    n = self.stats.add("commands")
                    mode = self.mode()
                    if mode[0] == "hang":
                        continue
                    if command == "restrict":
                        self.send(conn, RESTRICTED, mode)
                        continue
                    if command == "show status":
                        self.stats.add("show_status")
                        reply = self.status
                    elif command == "show protocols all":
                        self.stats.add("show_protocols")
                        reply = self.protocols
                        if mode[0] == "big":
                            size = int(mode[1] or 4 << 20)
                            reply = self.big_cache.setdefault(size, big_reply(size))
                    else:
                        reply = SYNTAX_ERROR
                    cut = mode[0] == "half" or (mode[0] == "flaky" and n % int(mode[1] or 10) == 0)
                    if cut:
                        self.stats.add("replies_cut")
                        conn.sendall(reply[:len(reply) // 2])
                        return
                    self.send(conn, reply, mode)
        except OSError:
            self.stats.add("send_errors")
        finally:
            conn.close()

    def run(self):
        path = self.args.socket
        tmp = path + ".new"
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(tmp)
        server.listen(64)
        os.replace(tmp, path)
        self.stats.add("listening")
        self.stats.write()

        def flush():
            while True:
                time.sleep(0.1)
                self.stats.write()

        threading.Thread(target=flush, daemon=True).start()
        while True:
            conn, _ = server.accept()
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--socket", required=True)
    p.add_argument("--status", required=True)
    p.add_argument("--protocols", required=True)
    p.add_argument("--scale", type=int, default=0)
    p.add_argument("--greeting", default="0001 BIRD 1.6.8 ready.")
    p.add_argument("--mode-file")
    p.add_argument("--stats")
    args = p.parse_args()
    fake = Fake(args)
    signal.signal(signal.SIGTERM, lambda *_: (fake.stats.write(), os._exit(0)))
    fake.run()


if __name__ == "__main__":
    sys.exit(main())
