#!/usr/bin/python3
"""Writes the seed corpora of the fuzzers into tests/fuzz/corpus/<fuzzer>/ (python3 stdlib).

The seeds are the recorded BIRD replies of tests/fixtures plus a few hand-made inputs for what
no recording shows. Re-run after adding fixtures: `tests/fuzz/make-corpus.py`. The output is
deterministic, so a re-run changes nothing unless the fixtures changed.
"""

import hashlib
import pathlib
import shutil
import struct

HERE = pathlib.Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"
ROOT = HERE.parent.parent
OUT = HERE / "corpus"


def fixtures(pattern):
    return sorted(p.read_bytes() for p in FIXTURES.glob(pattern))


def write(fuzzer, seeds):
    d = OUT / fuzzer
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    for s in seeds:
        (d / hashlib.sha1(s).hexdigest()[:16]).write_bytes(s)


PROTOCOLS_SYNTHETIC = [
    # timeformat protocol iso long; no table column (BIRD 3 heading).
    b"2002-Name       Proto      Table      State  Since         Info\n"
    b"1002-Mesh_10_99_0_1 BGP        ---        up     2026-11-24 06:50:37.619  Established   \n"
    b" Mesh_10_99_0_2 BGP        ---        start  2026-11-24 06:50:36  Active        Socket: "
    b"Connection refused\n0000 \n",
    b"2002-Name       Proto      State  Since         Info\n"
    b"1002-Mesh_10_99_0_1 BGP        up     06:50:37.619  Established   \n0000 \n",
    b"2002-name     proto    table    state  since       info\n"
    b"1002-Mesh_10_99_0_1 BGP      master   up     2026-11-24  Established   \n"
    b"1006-  Routes:         3 imported, 2 filtered, 5 exported, 1 preferred\n"
    b"   Hold timer:       143.007/240\n   Keepalive timer:  12/80\n"
    b"   Neighbor AS:      64512\n   Local AS:         65000\n \n0000 \n",
    b"2002-name     proto    table    state  since       info\n"
    b"1002-Mesh_10_99_0_1 BGP      master   down   06:47:46    Automatic shutdown: Route limit "
    b"exceeded\n0000 \n",
    b"8003 No protocols match\n",
    b"9001 syntax error\n",
]

STATUS_SYNTHETIC = [
    b"1000-BIRD v0.3.3+birdv1.6.8\n"
    b"1011-Router ID is 10.0.0.5\n"
    b" Current server time is 2026-11-26 06:48:42\n"
    b" Last reboot on 2026-11-26 06:47:44\n"
    b" Last reconfiguration on 2026-11-26 06:47:44\n"
    b"0024-Graceful restart recovery in progress\n"
    b"   Waiting for 2 protocols to recover\n"
    b"   Wait timer is 215/240\n"
    b"0013 Reconfiguration in progress\n",
    b"1000-BIRD 1.6.8\n0018 Shutdown in progress\n",
]


def main():
    replies = fixtures("bird*/*.raw")
    # Framing: every recorded reply, each with a few chunkings (8-byte seed first).
    framing = []
    for i, r in enumerate(fixtures("bird1/*.raw") + STATUS_SYNTHETIC):
        framing.append(struct.pack("<Q", i % 5) + r)
    framing += [struct.pack("<Q", 7) + b"0001 BIRD 1.6.8 ready.\n0016 Access restricted\n",
                struct.pack("<Q", 1) + b" continuation first\n",
                struct.pack("<Q", 2) + b"12a4 bad\n",
                struct.pack("<Q", 3) + b"1000-x\n\n"]
    write("bird_framing", framing)

    write("bird_protocols", fixtures("bird*/show_protocols*.raw") + PROTOCOLS_SYNTHETIC)
    write("bird_status", fixtures("bird*/show_status*.raw") + STATUS_SYNTHETIC)

    # Client: chunk byte, cap byte, then greeting / restrict / replies separated by "\n====\n".
    sep = b"====\n"
    client = []
    for greeting in fixtures("bird*/greeting__*.raw") + [b"0001 BIRD v0.3.3+birdv1.6.8 ready.\n"]:
        for chunk, cap in ((1, 0), (40, 0), (96, 200)):
            status = (FIXTURES / "bird1/show_status__all_states.raw").read_bytes()
            protos = (FIXTURES / "bird1/show_protocols__all_states.raw").read_bytes()
            client.append(bytes([chunk, cap]) + greeting + sep + b"0016 Access restricted\n" + sep
                          + status + sep + protos + sep + status)
    client.append(bytes([3, 0]) + b"0001 BIRD 2.0.12 ready.\n" + sep + b"9001 syntax error\n")
    write("bird_client", client)

    # Times: the observation time (5 bytes, big endian), BIRD's server time, "|", the time.
    times = [b"06:47:44", b"06:50:36.831", b"2026-11-25", b"2026-11-26 06:48:42",
             b"2026-11-26 06:51:24.770", b"23:59:60.999999", b"0000-02-29 00:00:00"]
    time_seeds = []
    for i, t in enumerate(times):
        server = times[3 + i % 2]
        time_seeds.append(struct.pack(">Q", 1795650000 + i)[3:] + server + b"|" + t)
    # Unix times (BIRD >= 2.16 after `timeformat "%s.%3f"`): the server time anchors them only.
    for server, t in ((b"1796539722.831", b"1796539000.5"), (b"1796539722.831", b"06:47:44"),
                      (b"2026-11-26 06:48:42", b"1796539000")):
        time_seeds.append(struct.pack(">Q", 1796539723)[3:] + server + b"|" + t)
    write("bird_time", time_seeds)

    configs = [(ROOT / "deploy/config.example.yml").read_bytes(),
               b"bird:\n  sockets: [/var/run/calico/bird.ctl, /var/run/calico/bird6.ctl]\n"
               b"  interval: 5s\n  timeout: 2s\n  max_reply_bytes: 1048576\n",
               b"peers:\n  static:\n    - {address: 10.0.0.1, name: tor1}\n"
               b"    - address: fd00::1\n",
               b"probes:\n  tcp: {enabled: true, mode: syn, port: 179, interval: 30s, "
               b"timeout: 2s}\n  icmp: {enabled: false, count: 3}\n  mtu: {max_steps: 12}\n"
               b"  listener: {enabled: true, interval: 1m}\n  packets_per_second: 100\n",
               b"bird: {interval: 5x, timeout: nope, extra: 1}\n",
               b"bird:\n  interval: 5s\n   timeout: 1s\n",
               b"---\n", b""]
    write("config", configs)

    # Packets: flags (bit 0: IPv6, bit 1: IPv4 header), two ports, packet.
    def ipv4(proto, payload, src=b"\x0a\x63\x00\x01", dst=b"\x0a\x63\x00\x05"):
        return (bytes([0x45, 0, 0, 20 + len(payload), 0, 0, 0x40, 0, 64, proto, 0, 0])
                + src + dst + payload)

    tcp_synack = struct.pack(">HHIIBBHHH", 179, 40000, 1, 2, 0x50, 0x12, 64240, 0, 0)
    tcp_rst = struct.pack(">HHIIBBHHH", 179, 40000, 0, 2, 0x50, 0x14, 0, 0, 0)
    inner_tcp = ipv4(6, struct.pack(">HHI", 40000, 179, 1), src=b"\x0a\x63\x00\x05",
                     dst=b"\x0a\x63\x00\x01")
    icmp_unreach = bytes([3, 13, 0, 0, 0, 0, 0, 0]) + inner_tcp
    icmp_frag = bytes([3, 4, 0, 0, 0, 0, 0x05, 0x78]) + inner_tcp
    echo_reply = bytes([0, 0, 0, 0, 0x12, 0x34, 0, 1]) + bytes(range(56))
    v6_inner = (bytes([0x60, 0, 0, 0, 0, 20, 6, 64]) + bytes(15) + b"\x01" + bytes(15) + b"\x02"
                + struct.pack(">HHI", 40000, 179, 1))
    icmp6_unreach = bytes([1, 1, 0, 0, 0, 0, 0, 0]) + v6_inner
    icmp6_too_big = bytes([2, 0, 0, 0, 0, 0, 0x05, 0x78]) + v6_inner
    echo6_reply = bytes([129, 0, 0, 0, 0x12, 0x34, 0, 1]) + bytes(range(56))
    ports = struct.pack(">HH", 179, 40000)
    echo_ports = struct.pack(">HH", 0x1234, 0)
    packets = [bytes([2]) + ports + ipv4(6, tcp_synack),
               bytes([2]) + ports + ipv4(6, tcp_rst),
               bytes([1]) + ports + tcp_synack,
               bytes([2]) + ports + ipv4(1, icmp_unreach),
               bytes([2]) + ports + ipv4(1, icmp_frag),
               bytes([2]) + echo_ports + ipv4(1, echo_reply),
               bytes([0]) + echo_ports + echo_reply,
               bytes([1]) + ports + icmp6_unreach,
               bytes([1]) + ports + icmp6_too_big,
               bytes([1]) + echo_ports + echo6_reply]
    write("packet", packets)

    proc = [b"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
            b"timeout inode\n"
            b"   0: 00000000:00B3 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0"
            b"        0 12345 1 0000000000000000 100 0 0 10 0\n"
            b"   1: 0100007F:2742 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0"
            b"        0 12346 1 0000000000000000 20 4 30 10 -1\n",
            b"  sl  local_address                         remote_address                        st\n"
            b"   0: 00000000000000000000000000000000:00B3 00000000000000000000000000000000:0000 "
            b"0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0\n",
            b"header only\n"]
    write("proc_net_tcp", proc)

    selectors = [b"", b"all()", b"global()", b"has(routeReflector)", b"!has(a) && b == 'c'",
                 b'rack in {"r1", "r2",} || zone not in {}',
                 b"(a contains 'x' || b starts with \"y\") && c endswith 'z'",
                 b"!!(calico/k8s_ns == 'kube-system')", b"a == b", b"has(", b"(((a == 'b')",
                 b"!(!a == 'b')"]  # a fuzz find: !(!x) printed as !!x
    write("selector", selectors)


if __name__ == "__main__":
    main()
