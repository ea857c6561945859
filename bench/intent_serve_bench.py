#!/usr/bin/python3
"""What `calico-bgp-exporter intent serve` costs at cluster scale (issue 16). Prints figures,
asserts nothing about time.

  bench/intent_serve_bench.py [--exporter build/calico-bgp-exporter] [--nodes 5000]
                              [--peers 50] [--changes 20] [--window 60] [--keep]

Against the Kubernetes API test server (tests/kube/fake_apiserver.py, TLS, bearer token) holding
--nodes Kubernetes Nodes shaped like real ones (labels, kubeadm and Calico annotations, a
status with conditions, addresses and 30 images: about 9 KB each as JSON) and --peers BGPPeers:
three route reflectors with a BGPPeer for their clients and one for their mesh, the rest one
top-of-rack router per rack (racks of about 100 nodes); the node-to-node mesh off.

Figures:
  * first full sync (discovery, LIST in pages of 500, the first model) and the intent process'
    RSS after it, after every node's answer was asked for once, and its peak;
  * bytes per node answer (GET /v1/nodes/NAME/sessions) for a client node, a route reflector and
    the mean over all nodes, and how long answering all of them took;
  * time from a change to the new answer: the API server is told to change a Node's rack label
    (a new top-of-rack peer for it) or a BGPPeer's AS (about 100 nodes' answers), then the
    answer of an affected node is polled (If-None-Match, every millisecond) until it changes;
  * steady state over --window seconds: API requests per minute (one watch per resource, no
    periodic LIST), with kubelet-like status updates of every Node once per 5 minutes (17/s at
    5,000 nodes): models recomputed and CPU used.
Python 3 stdlib and openssl only; no root.
"""

import argparse
import json
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKEN = "bench-token"


def run(args, **kw):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)


def make_pki(d):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run(["openssl", "req", "-x509", *ec, "-days", "2", "-subj", "/CN=bench-ca",
         "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.crt"])
    run(["openssl", "req", *ec, "-subj", "/CN=kube-apiserver", "-keyout", f"{d}/server.key",
         "-out", f"{d}/server.csr"])
    with open(f"{d}/server.ext", "w", encoding="utf-8") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    run(["openssl", "x509", "-req", "-in", f"{d}/server.csr", "-CA", f"{d}/ca.crt", "-CAkey",
         f"{d}/ca.key", "-CAcreateserial", "-days", "2", "-extfile", f"{d}/server.ext",
         "-out", f"{d}/server.crt"])


def node(i, racks, rr_count):
    name = f"node-{i:05d}"
    rr = i < rr_count
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
              "kubernetes.io/arch": "amd64", "topology.kubernetes.io/zone": f"zone-{i % 3}",
              "node.kubernetes.io/instance-type": "m5.2xlarge", "rack": f"r{i % racks}"}
    if rr:
        labels["rr"] = "true"
    ip = f"10.{16 + i // 65536}.{i // 256 % 256}.{i % 256}"
    annotations = {
        "projectcalico.org/IPv4Address": ip + "/16",
        "projectcalico.org/IPv4IPIPTunnelAddr": f"192.168.{i // 256 % 256}.{i % 256}",
        "node.alpha.kubernetes.io/ttl": "0",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///var/run/containerd/containerd.sock",
    }
    if rr:
        annotations["projectcalico.org/RouteReflectorClusterID"] = "224.0.0.1"
    images = [{"names": [f"registry.example.com/team-{k}/service-{k}@sha256:{'%064x' % (i * 31 + k)}",
                         f"registry.example.com/team-{k}/service-{k}:v1.{k}.0"],
               "sizeBytes": 10_000_000 + k} for k in range(30)]
    return {
        "metadata": {"name": name, "labels": labels, "annotations": annotations},
        "spec": {"podCIDR": f"10.244.{i // 256 % 256}.0/24", "providerID": f"aws:///zone/i-{i:017x}"},
        "status": {
            "conditions": [{"type": t, "status": "False", "reason": "KubeletHasSufficient" + t,
                            "message": "kubelet has sufficient resources",
                            "lastHeartbeatTime": "2026-12-01T00:00:00Z",
                            "lastTransitionTime": "2026-12-01T00:00:00Z"}
                           for t in ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")],
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
            "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
            "allocatable": {"cpu": "7800m", "memory": "30Gi", "pods": "110"},
            "nodeInfo": {"kubeletVersion": "v1.32.0", "containerRuntimeVersion": "containerd://1.7.0",
                         "kernelVersion": "6.1.0", "osImage": "Debian GNU/Linux 12 (bookworm)"},
            "images": images,
        },
    }


def seed(nodes, peers, racks, rr_count):
    bgppeers = [
        {"metadata": {"name": "rr-clients"}, "spec": {"nodeSelector": "!has(rr)", "peerSelector": "has(rr)"}},
        {"metadata": {"name": "rr-mesh"}, "spec": {"nodeSelector": "has(rr)", "peerSelector": "has(rr)"}},
    ]
    for k in range(peers - 2):
        bgppeers.append({"metadata": {"name": f"tor-r{k}"},
                         "spec": {"nodeSelector": f"rack == 'r{k}'", "peerIP": f"172.16.{k}.1",
                                  "asNumber": 65000 + k}})
    return {
        "v1/nodes": [node(i, racks, rr_count) for i in range(nodes)],
        "crd.projectcalico.org/v1/bgppeers": bgppeers,
        "crd.projectcalico.org/v1/bgpconfigurations": [
            {"metadata": {"name": "default"}, "spec": {"asNumber": 64512, "nodeToNodeMeshEnabled": False}}],
    }


class Api:
    def __init__(self, port, ca):
        self.base = f"https://127.0.0.1:{port}"
        self.ctx = ssl.create_default_context(cafile=ca)

    def call(self, path, body=None):
        req = urllib.request.Request(self.base + path, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": "Bearer control"})
        with urllib.request.urlopen(req, context=self.ctx, timeout=120) as r:
            return json.loads(r.read())

    def ops(self, ops):
        return self.call("/_fake/ops", ops)


def get(port, path, etag=None):
    headers = {"If-None-Match": etag} if etag else {}
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read(), r.headers.get("ETag")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("ETag")


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status", encoding="utf-8") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def mib(kb_text):
    return int(kb_text.split()[0]) / 1024


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metric(port, name, labels=""):
    _, body, _ = get(port, "/metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + labels + " ") or (not labels and line.startswith(name + " ")):
            return float(line.rsplit(" ", 1)[1])
    return None


def wait(pred, deadline, step=0.05):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return False


def time_change(api, port, target, op):
    """Seconds from telling the API server about `op` until `target`'s answer changed. Changes
    are a third of a second apart, so the engine is idle when one comes (as it is in a cluster,
    where BGP configuration changes are rare)."""
    time.sleep(0.3)
    status, _, etag = get(port, f"/v1/nodes/{target}/sessions")
    assert status == 200, status
    start = time.monotonic()
    api.ops([op])
    acked = time.monotonic()
    while True:
        status, _, _ = get(port, f"/v1/nodes/{target}/sessions", etag)
        if status == 200:
            return time.monotonic() - start, time.monotonic() - acked
        if time.monotonic() - start > 30:
            raise RuntimeError("no new answer within 30 s")
        time.sleep(0.001)


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--exporter", default=os.path.join(ROOT, "build/calico-bgp-exporter"))
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--peers", type=int, default=50)
    ap.add_argument("--changes", type=int, default=20)
    ap.add_argument("--window", type=float, default=60)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    racks = max(1, a.peers - 2)
    rr_count = 3
    d = tempfile.mkdtemp(prefix="cbe-intent-bench.")
    procs = []
    try:
        make_pki(d)
        data = seed(a.nodes, a.peers, racks, rr_count)
        with open(f"{d}/seed.json", "w", encoding="utf-8") as f:
            json.dump(data, f)
        node_bytes = statistics.mean(len(json.dumps(n)) for n in data["v1/nodes"][:200])
        procs.append(subprocess.Popen(
            ["/usr/bin/python3", os.path.join(ROOT, "tests/kube/fake_apiserver.py"), "--cert", f"{d}/server.crt",
             "--key", f"{d}/server.key", "--token", TOKEN, "--port-file", f"{d}/port", "--seed", f"{d}/seed.json",
             "--bookmark-interval", "60"], stdout=subprocess.DEVNULL, stderr=open(f"{d}/apiserver.log", "w")))
        if not wait(lambda: os.path.exists(f"{d}/port"), 300):
            raise RuntimeError("the API server did not start")
        api_port = int(open(f"{d}/port", encoding="utf-8").read())
        api = Api(api_port, f"{d}/ca.crt")
        with open(f"{d}/token", "w", encoding="utf-8") as f:
            f.write(TOKEN)
        with open(f"{d}/kubeconfig", "w", encoding="utf-8") as f:
            f.write(f"""current-context: c
contexts: [{{name: c, context: {{cluster: k, user: u}}}}]
clusters: [{{name: k, cluster: {{server: "https://127.0.0.1:{api_port}", certificate-authority: ca.crt}}}}]
users: [{{name: u, user: {{tokenFile: token}}}}]
""")
        start = time.monotonic()
        serve = subprocess.Popen([a.exporter, "intent", "serve", "--kubeconfig", f"{d}/kubeconfig",
                                  "--web.listen-address=127.0.0.1:0"],
                                 stdout=subprocess.DEVNULL, stderr=open(f"{d}/intent.log", "w"))
        procs.append(serve)
        port = None

        def listening():
            nonlocal port
            for line in open(f"{d}/intent.log", encoding="utf-8"):
                if "ports=" in line:
                    port = int(line.split("ports=")[1].split()[0])
                    return True
            return False

        if not wait(listening, 30):
            raise RuntimeError("intent serve did not start")
        client = f"node-{rr_count + 7:05d}"
        if not wait(lambda: get(port, f"/v1/nodes/{client}/sessions")[0] == 200, 600, 0.01):
            raise RuntimeError("no full sync within 10 minutes")
        sync_s = time.monotonic() - start
        rss_sync = mib(proc_status(serve.pid)["VmRSS"])

        sizes = []
        t0 = time.monotonic()
        for i in range(a.nodes):
            status, body, _ = get(port, f"/v1/nodes/node-{i:05d}/sessions")
            assert status == 200, (i, status)
            sizes.append(len(body))
        all_s = time.monotonic() - t0
        st = proc_status(serve.pid)
        rss_all, hwm = mib(st["VmRSS"]), mib(st["VmHWM"])
        client_bytes = sizes[rr_count + 7]
        rr_bytes = sizes[0]
        client_sessions = len(json.loads(get(port, f"/v1/nodes/{client}/sessions")[1])["sessions"])
        rr_sessions = len(json.loads(get(port, "/v1/nodes/node-00000/sessions")[1])["sessions"])

        # Changes: a node moves to another rack; a top-of-rack router changes its AS.
        nodes = data["v1/nodes"]  # the API server's objects as they are now
        node_times, peer_times = [], []
        for k in range(a.changes):
            i = rr_count + 100 + k
            n = nodes[i]
            n["metadata"]["labels"]["rack"] = f"r{(i + 1 + k) % racks}"
            node_times.append(time_change(api, port, n["metadata"]["name"],
                                          {"op": "put", "resource": "v1/nodes", "object": n}))
            r = k % racks
            target = next(f"node-{j:05d}" for j in range(rr_count, a.nodes) if j % racks == r)
            peer = {"metadata": {"name": f"tor-r{r}"},
                    "spec": {"nodeSelector": f"rack == 'r{r}'", "peerIP": f"172.16.{r}.1",
                             "asNumber": 64000 + k}}
            peer_times.append(time_change(api, port, target, {"op": "put",
                                                              "resource": "crd.projectcalico.org/v1/bgppeers",
                                                              "object": peer}))
        model_s = metric(port, "calico_bgp_intent_recompute_duration_seconds", '{step="model"}')
        findings_s = metric(port, "calico_bgp_intent_recompute_duration_seconds", '{step="findings"}')

        # Steady state: nothing but kubelet-like status updates; count API requests and CPU.
        time.sleep(2)
        api.call("/_fake/reset_stats", {})
        changed_before = metric(port, "calico_bgp_intent_last_change_timestamp_seconds")
        cpu0 = cpu_seconds(serve.pid)
        t0 = time.monotonic()
        per_second = a.nodes / 300
        updates = 0
        while time.monotonic() - t0 < a.window:
            batch = []
            while updates < per_second * (time.monotonic() - t0) and len(batch) < 50:
                n = nodes[updates % a.nodes]
                n["status"]["conditions"][3]["lastHeartbeatTime"] = time.strftime("%Y-%m-%dT%H:%M:%SZ")
                batch.append({"op": "put", "resource": "v1/nodes", "object": n})
                updates += 1
            if batch:
                api.ops(batch)
            time.sleep(0.05)
        elapsed = time.monotonic() - t0
        cpu = cpu_seconds(serve.pid) - cpu0
        stats = api.call("/_fake/stats")
        requests = {k: v for k, v in stats["requests"].items() if k.startswith(("list", "watch", "discovery"))}
        changed_after = metric(port, "calico_bgp_intent_last_change_timestamp_seconds")
        st = proc_status(serve.pid)

        print(f"intent serve at {a.nodes} nodes and {a.peers} BGPPeers "
              f"({rr_count} route reflectors, {racks} racks, mesh off); Node objects ~{node_bytes / 1024:.1f} KiB")
        print(f"  first full sync (discovery, LIST, model)        {sync_s:8.2f} s")
        print(f"  RSS after the sync                              {rss_sync:8.1f} MiB")
        print(f"  RSS after every node's answer once / peak       {rss_all:8.1f} / {hwm:.1f} MiB")
        print(f"  all {a.nodes} answers, one after the other         {all_s:8.2f} s  "
              f"({all_s / a.nodes * 1e3:.2f} ms each, new connection each)")
        print(f"  bytes per answer: client node ({client_sessions} sessions)     {client_bytes:8d}")
        print(f"                    route reflector ({rr_sessions} sessions) {rr_bytes:8d}")
        print(f"                    mean over all nodes           {statistics.mean(sizes):8.0f}")
        for what, times in (("a Node's rack label", node_times), ("a BGPPeer's AS     ", peer_times)):
            sent = [t[0] for t in times]
            acked = [t[1] for t in times]
            print(f"  change -> new answer, {what}      p50 {pct(sent, 50) * 1e3:6.1f} ms  "
                  f"p90 {pct(sent, 90) * 1e3:6.1f} ms  max {max(sent) * 1e3:6.1f} ms  (n={len(sent)}); "
                  f"after the API server's ack p50 {pct(acked, 50) * 1e3:.1f} ms")
        print(f"  engine per change: model {model_s * 1e3:.1f} ms, findings {findings_s * 1e3:.1f} ms "
              "(the answer waits only for the model)")
        print(f"  steady state over {elapsed:.0f} s with {updates} Node status updates ({updates / elapsed:.1f}/s):")
        total = sum(requests.values())
        print(f"    API requests {total} ({total / elapsed * 60:.2f}/min): {json.dumps(requests, sort_keys=True)}")
        print(f"    open watches {json.dumps(stats['open_watches'], sort_keys=True)}; each is renewed after "
              "5-10 min (timeoutSeconds): 3 watches -> 0.3-0.6 requests/min, no periodic LIST")
        print(f"    models recomputed: {'none' if changed_after == changed_before else 'some'} "
              "(status updates change nothing Calico's BGP reads)")
        print(f"    CPU {cpu:.2f} s ({cpu / elapsed * 100:.1f}% of one core), RSS {mib(st['VmRSS']):.1f} MiB")
        return 0
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        if a.keep:
            print(f"kept {d}")
        else:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
