#!/usr/bin/python3
"""The one fake BIRD control socket of the project: the fault tests and the benchmark use it
(python3 stdlib only). Unit tests of pure code only; integration tests run real BIRD.

  fake_bird.py serve --socket PATH --status FILE --protocols FILE [--greeting "BIRD 2.0.12"]
                     [--scale N] [--mode-file FILE] [--stats FILE]
  fake_bird.py scale --in FILE --out FILE --protocols N [--established-share R]

`serve` greets (`0001 <greeting> ready.`), answers `restrict` with 0016 and `show status`,
`show protocols all` (and `show protocols`, its first line per protocol) with the recorded
replies, the way BIRD does, anything else with `9001 syntax error`; `fake stats` answers
`0000 <command>=<count> ...` (the commands seen so far). The socket is bound under a temporary
name and renamed into place once it listens, so a test can replace a running fake's socket
file atomically. It runs until SIGTERM/SIGINT.

The behaviour comes from the mode file, read again before every greeting and every command
(no file, or a missing one, means `good`); its first line is a mode and an optional number:

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

`--scale N` / `scale` turn a recorded `show protocols all` into one with N BGP protocols: the
recorded BGP blocks in turn; from the second pass on, each copy gets a neighbour address of its
own in 10.64.0.0/10 or fd00:64::/32 (the address is replaced in the block, and in the
protocol name where it appears as Calico writes it, 10_64_0_1). Non-BGP blocks are kept once.
With `--established-share R` (0 to 1) the copies are drawn from the recorded Established blocks
and from the others so that floor(N * R) of them are Established, spread evenly; every copy
then gets an address of its own.
"""

import argparse
import ipaddress
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
SCALED_NET = {4: ipaddress.IPv4Address("10.64.0.0"), 6: ipaddress.IPv6Address("fd00:64::")}


class Stats:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.values = {"listening": 0, "connections": 0, "commands": 0, "show_status": 0,
                       "show_protocols": 0, "replies_cut": 0, "send_errors": 0}
        self.commands = {}

    def add(self, name, n=1):
        with self.lock:
            self.values[name] += n
            return self.values[name]

    def command(self, command):
        with self.lock:
            self.commands[command] = self.commands.get(command, 0) + 1
            return " ".join(f"{k.replace(' ', '_')}={v}" for k, v in self.commands.items())

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
    """`show protocols all` -> (heading line, [protocol blocks], final line); lines keep '\\n'."""
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


def is_bgp(block):
    fields = block[5:block.index(b"\n")].split()
    return len(fields) > 1 and fields[1] == b"BGP"


def neighbor_address(block):
    m = re.search(rb"Neighbor address:\s*([0-9A-Fa-f.:]+)", block)
    return ipaddress.ip_address(m.group(1).decode()) if m else None


def calico_name(address):
    """An address as Calico's protocol names write it: 10_64_0_1, fd00_64__1."""
    return str(address).replace(".", "_").replace(":", "_").encode()


def copy_block(block, index):
    """The block with its neighbour address replaced by the index-th of its family's net."""
    old = neighbor_address(block)
    if old is None:
        raise ValueError(f"BGP block without a neighbour address: {block[:60]!r}")
    new = SCALED_NET[old.version] + index + 1
    block = block.replace(str(old).encode(), str(new).encode())
    return block.replace(calico_name(old), calico_name(new))


def is_established(block):
    return b"Established" in block[:block.index(b"\n")]


def scale_reply(reply, n, established_share=None):
    heading, blocks, final = split_blocks(reply)
    bgp = [b for b in blocks if is_bgp(b)]
    if not bgp:
        raise ValueError("no BGP protocol in the reply")
    out = [heading] + [b for b in blocks if not is_bgp(b)]
    if established_share is None:
        for i in range(n):
            block = bgp[i % len(bgp)]
            out.append(block if i < len(bgp) else copy_block(block, i))
    else:
        up = [b for b in bgp if is_established(b)]
        down = [b for b in bgp if not is_established(b)]
        if not 0 <= established_share <= 1 or (established_share > 0 and not up) or (
                established_share < 1 and not down):
            raise ValueError(f"cannot make {established_share:.0%} of the sessions Established "
                             f"from {len(up)} Established and {len(down)} other blocks")
        for i in range(n):
            established = int((i + 1) * established_share) > int(i * established_share)
            pool = up if established else down
            out.append(copy_block(pool[i % len(pool)], i))
    out.append(final)
    return b"".join(out)


def summary_from_all(reply):
    """`show protocols` rows from a `show protocols all` reply (first line of each block)."""
    heading, blocks, final = split_blocks(reply)
    rows = [b[:b.index(b"\n") + 1] for b in blocks]
    rows = [rows[0]] + [b" " + r[5:] for r in rows[1:]] if rows else []
    return heading + b"".join(rows) + final


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
        with open(args.status, "rb") as f:
            self.status = f.read()
        with open(args.protocols, "rb") as f:
            self.protocols = f.read()
        if args.scale:
            self.protocols = scale_reply(self.protocols, args.scale)
        self.summary = summary_from_all(self.protocols)
        self.greeting = b"0001 " + args.greeting.encode() + b" ready.\n"
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

    def reply(self, command, mode, stats_line):
        if command == "show status":
            self.stats.add("show_status")
            return self.status
        if command == "show protocols all":
            self.stats.add("show_protocols")
            if mode[0] == "big":
                size = int(mode[1] or 4 << 20)
                return self.big_cache.setdefault(size, big_reply(size))
            return self.protocols
        if command == "show protocols":
            return self.summary
        if command == "fake stats":
            return b"0000 " + stats_line.encode() + b"\n"
        return SYNTAX_ERROR

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
                    stats_line = self.stats.command(command)
                    mode = self.mode()
                    if mode[0] == "hang":
                        continue
                    if command == "restrict":
                        self.send(conn, RESTRICTED, mode)
                        continue
                    reply = self.reply(command, mode, stats_line)
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


def serve(args):
    fake = Fake(args)

    def stop(*_):
        fake.stats.write()
        try:
            os.unlink(args.socket)
        except OSError:
            pass
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    fake.run()


def scale(args):
    with open(args.input, "rb") as f:
        reply = f.read()
    with open(args.out, "wb") as f:
        f.write(scale_reply(reply, args.protocols, args.established_share))


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--socket", required=True)
    s.add_argument("--status", required=True)
    s.add_argument("--protocols", required=True)
    s.add_argument("--greeting", default="BIRD 1.6.8")
    s.add_argument("--scale", type=int, default=0)
    s.add_argument("--mode-file")
    s.add_argument("--stats")
    c = sub.add_parser("scale")
    c.add_argument("--in", dest="input", required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--protocols", type=int, required=True)
    c.add_argument("--established-share", type=float)
    args = p.parse_args()
    {"serve": serve, "scale": scale}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
