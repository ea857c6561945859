#!/usr/bin/env python3
"""Writes BIRD configs for the integration lab the way Calico renders them.

For each Calico node of a lab description (configs/calico/lab.json) it computes the BGP sessions
as confd does (node-to-node mesh, global BGPPeers) and writes, into OUT/<node>/:

  --flavour fork   bird.cfg, bird_ipam.cfg, bird_aggr.cfg and bird6.cfg, bird6_ipam.cfg,
                   bird6_aggr.cfg in the shape of confd's templates for Calico's BIRD 1.6 fork
                   (projectcalico/calico 87c1590, confd/etc/calico/confd/templates), including
                   the fork-only `krt_tunnel` of an IPIP pool whose cluster routes BIRD programs;
  --flavour bird3  bird.cfg, bird_ipam.cfg, bird_aggr.cfg in the shape of Calico's BIRD 3
                   migration (one daemon for both families, bgp_template_v4/_v6, channels,
                   `timeformat protocol "%F"`, `timeformat route "%T"`).

For the plain routers of the description (not Calico nodes: a ToR, a peer whose AS the cluster
has wrong) it writes a small config in the flavour's own syntax.

Two deviations from what Calico renders, both for the lab and both marked in the files:
`log "OUT/<node>/<daemon>.log" all;` (calico-node logs to stderr), and `export none` on the
kernel protocols (Calico: `export filter calico_kernel_programming`), so that a lab never
programs a route into a kernel table. The filters stay defined, so BIRD still parses them.

Usage: calico_birdcfg.py --flavour fork|bird3 --lab LAB.json --out OUT NODE...
Python 3 standard library only.
"""

import argparse
import ipaddress
import json
import os
import sys

KERNEL_EXPORT_NOTE = "  # lab: export none (Calico: {0}): a lab programs no kernel route"
LOG_NOTE = "# lab: log to a file (calico-node logs to stderr)"
GR_NOTE = """  graceful restart;  # Turn on graceful restart to reduce potential flaps in
                     # routes when reloading BIRD configuration.  With a full
                     # automatic mesh, there is no way to prevent BGP from
                     # flapping since multiple nodes update their BGP
                     # configuration at the same time, GR is not guaranteed to
                     # work correctly in this scenario."""
DIRECT_INTERFACES = '''  interface -"cali*", -"kube-ipvs*", "*"; # Exclude cali* and kube-ipvs* but
                                          # include everything else.  In
                                          # IPVS-mode, kube-proxy creates a
                                          # kube-ipvs0 interface. We exclude
                                          # kube-ipvs0 because this interface
                                          # gets an address for every in use
                                          # cluster IP. We use static routes
                                          # for when we legitimately want to
                                          # export cluster IPs.'''
PEER_DEBUG = "  debug { states, routes, filters, events };"


class LabError(Exception):
    """A lab description that cannot be rendered."""


def family_key(family):
    return "ipv4" if family == 4 else "ipv6"


def peer_name(prefix, ip):
    """Calico's protocol names: Mesh_10_99_0_1, Global_fd00_99__9."""
    return prefix + "_" + ip.replace(".", "_").replace(":", "_")


def addr_family(ip):
    return ipaddress.ip_address(ip).version


def load_lab(path):
    with open(path, encoding="utf-8") as f:
        lab = json.load(f)
    for key in ("as_number", "ip_pools", "nodes", "bgp_peers", "routers"):
        if key not in lab:
            raise LabError(f"{path}: missing key '{key}'")
    return lab


def router_id(node):
    return node.get("router_id") or node["ipv4"]


def calico_peers(lab, name, family):
    """The sessions confd renders for node `name` and one family: mesh first, then global.

    Mesh: every other node with an address of the family; passive when the peer's address is
    greater than ours as a string (Calico's unidirectional mesh). Global BGPPeers: every peer
    of the family, except the node's own address."""
    node = lab["nodes"][name]
    own = node.get(family_key(family))
    if not own:
        return []
    peers = []
    for other_name in sorted(lab["nodes"]):
        other = lab["nodes"][other_name]
        ip = other.get(family_key(family))
        if other_name == name or not ip:
            continue
        peers.append({"name": peer_name("Mesh", ip), "ip": ip, "as": lab["as_number"],
                      "source": own, "passive": ip > own, "internal": True})
    for peer in lab["bgp_peers"]:
        ip = peer["peer_ip"]
        if addr_family(ip) != family or ip == own:
            continue
        peers.append({"name": peer_name("Global", ip), "ip": ip, "as": peer["as_number"],
                      "source": own, "passive": False,
                      "internal": peer["as_number"] == lab["as_number"]})
    return peers


def pools(lab, family):
    return [p for p in lab["ip_pools"] if ipaddress.ip_network(p["cidr"]).version == family]


def blocks(node, family):
    return [b for b in node.get("blocks", []) if ipaddress.ip_network(b).version == family]


def import_filter(indent):
    pad = " " * indent
    return (f"{pad}import filter {{\n"
            f"{pad}  if (defined(bgp_local_pref)&&(bgp_local_pref > 2147482623)) then\n"
            f"{pad}    preference = 200;\n"
            f"{pad}  accept;\n"
            f"{pad}}};")


def export_filter(indent, function, internal):
    pad = " " * indent
    return (f"{pad}export filter {{\n"
            f"{pad}  if (defined(source) && source = RTS_BGP && defined(bgp_local_pref)) then {{\n"
            f"{pad}    krt_metric = 2147483647 - bgp_local_pref;\n"
            f"{pad}  }} else {{\n"
            f"{pad}    if (!defined(krt_metric)) then {{ krt_metric = 1024; }}\n"
            f"{pad}    bgp_local_pref = 2147483647 - krt_metric;\n"
            f"{pad}  }}\n"
            f"{pad}  {function}({'true' if internal else 'false'});\n"
            f"{pad}  reject;\n"
            f"{pad}}};  # Only want to export routes for workloads.")


def aggr_function(name, node_blocks):
    lines = [f"# Aggregation of routes on this host; export the block, nothing beneath it.",
             f"function {name} ()", "{"]
    for block in node_blocks:
        lines += [f"      # Block {block} is confirmed",
                  f"      if ( net = {block} ) then {{ accept; }}",
                  f"      if ( net ~ {block} && krt_metric < 1024 ) then {{ accept; }}",
                  f"      if ( net ~ {block} ) then {{ reject; }}"]
    return "\n".join(lines + ["}"])


def export_function(suffix, lab, family, drop_ifaces):
    """calico_export_to_bgp_peers(internal_peer) of bird_ipam.cfg."""
    lines = [f"function reject_local_routes{suffix} () {{",
             "  # Don't export local routes learned via BPF as they should never leave the node.",
             "  if (defined(ifname)) then {",
             '     if (ifname ~ "bpf*.cali") then {',
             "        reject;", "     }", "  }", "}",
             f"function calico_export_to_bgp_peers{suffix}(bool internal_peer) {{",
             "  # filter code terminates when it calls `accept;` or `reject;`,",
             "  if (internal_peer) then {",
             "    if (defined(ifname)) then {",
             f"      if ({drop_ifaces}) then {{",
             "        reject;", "      }", "    }", "  }",
             f"  reject_local_routes{suffix}();",
             f"  apply_communities{suffix}();",
             f"  calico_aggr{suffix}();"]
    lines += [f"  if (net ~ {p['cidr']}) then {{ accept; }}" for p in pools(lab, family)]
    return "\n".join(lines + ["}"])


def kernel_metric_lines():
    return ["  if (defined(source) && (source = RTS_BGP) && !defined(krt_metric)) then {",
            "      krt_metric = 1024;",
            "      if (defined(bgp_local_pref)) then {",
            "          krt_metric = 2147483647 - bgp_local_pref;",
            "      }",
            "      if (krt_metric < 1024) then {",
            "          preference = 200;",
            "      }",
            "  }"]


# --------------------------------------------------------------------------------------------
# The fork (BIRD 1.6): bird.cfg + bird6.cfg, two daemons.

def fork_ipam(lab, family):
    lines = ["# Generated by confd",
             export_function("", lab, family, '(ifname ~ "*.cali") || (ifname ~ "*.calico")'),
             "filter calico_kernel_programming {"]
    lines += kernel_metric_lines()
    for pool in pools(lab, family):
        # Fork-only: krt_tunnel (the fork's IPIP support); BIRD programs the cluster routes.
        if pool.get("ipip_mode") == "Always":
            lines.append(f"  if (net ~ {pool['cidr']}) then {{ krt_tunnel=\"tunl0\"; accept; }}")
        else:
            lines.append(f"  if (net ~ {pool['cidr']}) then {{ accept; }}")
    return "\n".join(lines + ["  accept;", "}"]) + "\n"


def fork_aggr(node, family):
    routes = "\n".join(f"   route {b} blackhole;" for b in blocks(node, family))
    return ("# Generated by confd\n"
            "template static static_template {\n"
            + ("   # IP blocks for this host.\n" + routes + "\n" if routes else "")
            + "}\n"
            "protocol static from static_template {\n}\n"
            + aggr_function("calico_aggr", blocks(node, family)) + "\n")


def fork_peer(peer):
    lines = [f"protocol bgp {peer['name']} from bgp_template {{",
             f"  neighbor {peer['ip']} as {peer['as']};",
             f"  source address {peer['source']};  # The local address we use for the TCP "
             "connection",
             "  ttl security off;",
             "  multihop;",
             import_filter(2),
             export_filter(2, "calico_export_to_bgp_peers", peer["internal"])]
    if peer["passive"]:
        lines.append("  passive on;")
    return "\n".join(lines + ["}"])


def fork_main(lab, name, family, log_path):
    node = lab["nodes"][name]
    v = "" if family == 4 else "6"
    peers = calico_peers(lab, name, family)
    parts = [
        LOG_NOTE, f'log "{log_path}" all;',
        "function apply_communities ()\n{\n}",
        "template kernel kernel_template {\n"
        "  learn;             # Learn all alien routes from the kernel\n"
        "  persist;           # Don't remove routes on bird shutdown\n"
        "  scan time 2;       # Scan kernel routing table every 2 seconds\n"
        "  import all;\n}",
        "template direct direct_template {\n  debug { states };\n" + DIRECT_INTERFACES + "\n}",
        "# Generated by confd",
        f'include "bird{v}_aggr.cfg";',
        f'include "bird{v}_ipam.cfg";',
        f"router id {router_id(node)};",
        "# Configure synchronization between routing tables and kernel.",
        "protocol kernel from kernel_template {\n"
        + KERNEL_EXPORT_NOTE.format("export filter calico_kernel_programming") + "\n"
        "  export none;\n" + GR_NOTE + "\n"
        "  merge paths on;    # Allow export multipath routes (ECMP)\n}",
        "# Watch interface up/down events.",
        "protocol device {\n  debug { states };\n  scan time 2;    # Scan interfaces every 2 seconds\n}",
        "protocol direct from direct_template {\n}",
        "# Template for all BGP clients",
        "template bgp bgp_template {\n" + PEER_DEBUG + "\n"
        '  description "Connection to BGP peer";\n'
        f"  local as {lab['as_number']};\n"
        "  gateway recursive; # This should be the default, but just in case.\n"
        "  add paths on;\n"
        "  graceful restart;  # See comment in kernel section about graceful restart.\n"
        "  connect delay time 2;\n  connect retry time 5;\n  error wait time 5,30;\n}",
        "# -------------- BGP Filters ------------------",
        f"# No v{family} BGPFilters configured",
        "# BGP Protocol Configurations" if peers else "# No BGP peers configured",
    ]
    parts += [fork_peer(p) for p in peers]
    return "\n".join(parts) + "\n"


def render_fork(lab, name, out):
    node = lab["nodes"][name]
    files = {}
    for family in (4, 6):
        v = "" if family == 4 else "6"
        if family == 6 and not node.get("ipv6"):
            continue  # calico-node starts bird6 only with an IPv6 address (lab: no bird6)
        files[f"bird{v}.cfg"] = fork_main(lab, name, family, f"{out}/bird{v}.log")
        files[f"bird{v}_ipam.cfg"] = fork_ipam(lab, family)
        files[f"bird{v}_aggr.cfg"] = fork_aggr(node, family)
    return files


# --------------------------------------------------------------------------------------------
# BIRD 3: one bird.cfg for both families (Calico's BIRD 3 migration).

def bird3_ipam(lab, name):
    lines = ["# Generated by confd"]
    for family in (4, 6):
        s = f"_v{family}"
        peers = calico_peers(lab, name, family)
        lines += [f"# ===================== IPv{family} filter functions =====================",
                  f"function apply_communities{s} ()", "{", "}",
                  export_function(s, lab, family, '(ifname ~ "*.cali") || (ifname ~ "*.calico")'),
                  f"filter calico_kernel_programming{s} {{",
                  "  # Set the preferred source address (src) on routes learned from remote BGP",
                  "  # peers, so that node-originated traffic to remote pod networks uses the",
                  "  # correct source address (e.g. for kube-proxy SNAT). Requires BIRD 2+."]
        for p in peers:
            lines += [f'  if (proto = "{p["name"]}") then {{',
                      f"    krt_prefsrc = {p['source']};", "  }"]
        lines += kernel_metric_lines()
        lines += [f"  if (net ~ {p['cidr']}) then {{ accept; }}" for p in pools(lab, family)]
        lines += ["  accept;", "}"]
    return "\n".join(lines) + "\n"


def bird3_aggr(lab, name):
    node = lab["nodes"][name]
    ipip = any(p.get("ipip_mode") == "Always" for p in pools(lab, 4))
    lines = ["# Generated by confd"]
    for family in (4, 6):
        lines += [f"# ===================== IPv{family} static routes and aggregation "
                  "=====================", "protocol static {", f"  ipv{family};"]
        if blocks(node, family):
            lines.append("   # IP blocks for this host.")
            lines += [f"   route {b} blackhole;" for b in blocks(node, family)]
        if family == 4 and ipip:
            lines.append("   # IPIP tunnel endpoint routes for recursive nexthop resolution.")
            lines += [f'   route {p["ip"]}/32 via "tunl0";'
                      for p in calico_peers(lab, name, 4) if p["name"].startswith("Mesh_")]
        lines += ["}", aggr_function(f"calico_aggr_v{family}", blocks(node, family))]
    return "\n".join(lines) + "\n"


def bird3_kernel(family, graceful):
    return ("protocol kernel {\n"
            f"  ipv{family} {{\n"
            + "  " + KERNEL_EXPORT_NOTE.format(
                f"export filter calico_kernel_programming_v{family}") + "\n"
            "    export none;\n"
            "    import all;\n"
            "  };\n"
            "  learn;             # Learn all alien routes from the kernel\n"
            "  persist;           # Don't remove routes on bird shutdown\n"
            "  scan time 2;       # Scan kernel routing table every 2 seconds\n"
            + (GR_NOTE if graceful else "  graceful restart;") + "\n"
            "  merge paths on;    # Allow export multipath routes (ECMP)\n"
            "  metric 0;          # Preserve per-route krt_metric\n}")


def bird3_peer(peer, family):
    lines = [f"protocol bgp {peer['name']} from bgp_template_v{family} {{",
             f"  neighbor {peer['ip']} as {peer['as']};",
             f"  source address {peer['source']};  # The local address we use for the TCP "
             "connection",
             "  ttl security off;",
             "  multihop;"]
    if peer["passive"]:
        lines.append("  passive on;")
    lines += [f"  ipv{family} {{", import_filter(4),
              export_filter(4, f"calico_export_to_bgp_peers_v{family}", peer["internal"]),
              "  };", "}"]
    return "\n".join(lines)


def bird3_family(lab, name, family):
    node = lab["nodes"][name]
    if not node.get(family_key(family)):
        return [f"# IPv{family} disabled on this node."]
    peers = calico_peers(lab, name, family)
    parts = [f"# Template for all IPv{family} BGP clients",
             f"template bgp bgp_template_v{family} {{\n" + PEER_DEBUG + "\n"
             '  description "Connection to BGP peer";\n'
             f"  local as {lab['as_number']};\n"
             "  connect delay time 2;\n  connect retry time 5;\n  error wait time 5,30;\n"
             f"  ipv{family} {{\n"
             "    gateway recursive; # This should be the default, but just in case.\n"
             "    add paths on;\n"
             "    graceful restart;  # See comment in kernel section about graceful restart.\n"
             "  };\n}",
             f"# -------------- IPv{family} BGP Filters ------------------",
             f"# No v{family} BGPFilters configured",
             f"# IPv{family} BGP Protocol Configurations" if peers
             else f"# No IPv{family} BGP peers configured for this node"]
    return parts + [bird3_peer(p, family) for p in peers]


def render_bird3(lab, name, out):
    node = lab["nodes"][name]
    parts = [
        LOG_NOTE, f'log "{out}/bird.log" all;',
        "# Generated by confd",
        "# Single unified BIRD3 daemon config serving both IPv4 and IPv6.",
        'include "bird_aggr.cfg";',
        'include "bird_ipam.cfg";',
        f"router id {router_id(node)};",
        "# Pin timestamp format to single-token for parser compatibility",
        'timeformat protocol "%F";',
        'timeformat route "%T";',
        "# Watch interface up/down events.",
        "protocol device {\n  debug { states };\n  scan time 2;    # Scan interfaces every 2 seconds\n}",
        "protocol direct {\n  debug { states };\n  ipv4;\n  ipv6;\n" + DIRECT_INTERFACES + "\n}",
        "# Configure synchronization between routing tables and kernel (IPv4).",
        bird3_kernel(4, graceful=True),
        "# Configure synchronization between routing tables and kernel (IPv6).",
        bird3_kernel(6, graceful=False),
    ]
    parts += bird3_family(lab, name, 4) + bird3_family(lab, name, 6)
    return {"bird.cfg": "\n".join(parts) + "\n",
            "bird_ipam.cfg": bird3_ipam(lab, name),
            "bird_aggr.cfg": bird3_aggr(lab, name)}


# --------------------------------------------------------------------------------------------
# Plain routers (not Calico): one passive session per Calico node address of each family.

def router_sessions(lab, family):
    for name in sorted(lab["nodes"]):
        ip = lab["nodes"][name].get(family_key(family))
        if ip:
            yield peer_name("Calico", ip), ip


def router_announce(router, family):
    return [p for p in router.get("announce", []) if ipaddress.ip_network(p).version == family]


def render_router_fork(lab, router, out):
    files = {}
    for family in (4, 6):
        if not router.get(family_key(family)):
            continue
        v = "" if family == 4 else "6"
        lines = [LOG_NOTE, f'log "{out}/bird{v}.log" all;',
                 "# A plain BGP speaker (not a Calico node): waits for every Calico node.",
                 f"router id {router['ipv4']};",
                 "protocol device {\n  scan time 2;\n}",
                 "protocol kernel {\n  export none;\n}",
                 "protocol static announced {"]
        lines += [f"  route {p} blackhole;" for p in router_announce(router, family)]
        lines.append("}")
        for name, ip in router_sessions(lab, family):
            lines.append(f"protocol bgp {name} {{\n  local as {router['as_number']};\n"
                         f"  neighbor {ip} as {lab['as_number']};\n"
                         f"  source address {router[family_key(family)]};\n"
                         "  passive on;\n  import all;\n"
                         '  export where proto = "announced";\n}')
        files[f"bird{v}.cfg"] = "\n".join(lines) + "\n"
    return files


def render_router_bird3(lab, router, out):
    lines = [LOG_NOTE, f'log "{out}/bird.log" all;',
             "# A plain BGP speaker (not a Calico node): waits for every Calico node.",
             f"router id {router['ipv4']};",
             "protocol device {\n  scan time 2;\n}"]
    for family in (4, 6):
        lines.append(f"protocol kernel {{\n  ipv{family} {{ export none; }};\n}}")
        lines.append(f"protocol static announced{family} {{\n  ipv{family};")
        lines += [f"  route {p} blackhole;" for p in router_announce(router, family)]
        lines.append("}")
    for family in (4, 6):
        if not router.get(family_key(family)):
            continue
        for name, ip in router_sessions(lab, family):
            lines.append(f"protocol bgp {name} {{\n  local as {router['as_number']};\n"
                         f"  neighbor {ip} as {lab['as_number']};\n"
                         f"  source address {router[family_key(family)]};\n"
                         f"  passive on;\n  ipv{family} {{\n    import all;\n"
                         f'    export where proto = "announced{family}";\n  }};\n}}')
    return {"bird.cfg": "\n".join(lines) + "\n"}


def render(lab, flavour, name, out):
    if name in lab["nodes"]:
        return (render_fork if flavour == "fork" else render_bird3)(lab, name, out)
    if name in lab["routers"]:
        router = lab["routers"][name]
        return (render_router_fork if flavour == "fork" else render_router_bird3)(lab, router, out)
    raise LabError(f"no node or router '{name}' in the lab description")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flavour", choices=("fork", "bird3"), required=True)
    parser.add_argument("--lab", required=True, help="lab description (JSON)")
    parser.add_argument("--out", required=True, help="absolute folder; files go to OUT/<node>/")
    parser.add_argument("nodes", nargs="+")
    args = parser.parse_args(argv)
    if not os.path.isabs(args.out):
        parser.error("--out must be absolute (the log paths in the configs are)")
    try:
        lab = load_lab(args.lab)
        for name in args.nodes:
            folder = os.path.join(args.out, name)
            os.makedirs(folder, exist_ok=True)
            for file_name, text in render(lab, args.flavour, name, folder).items():
                with open(os.path.join(folder, file_name), "w", encoding="utf-8") as f:
                    f.write(text)
    except (OSError, ValueError, KeyError, LabError) as e:
        print(f"calico_birdcfg.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
