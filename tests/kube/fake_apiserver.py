#!/usr/bin/python3
"""A Kubernetes API server for the tests of `calico-bgp-exporter intent serve` (python3 stdlib).

Faithful where the reader depends on it (apimachinery's behaviour, checked against
k8s.io/apiserver's storage and watch cache):

  * HTTPS only, with the certificate and key the test made; a bearer token from --token (or a
    client certificate signed by --client-ca) is required, else 401 with a Status body.
  * Cluster-scoped resources: Kubernetes `v1` nodes; crd.projectcalico.org/v1 bgppeers and
    bgpconfigurations (Calico's Kubernetes datastore); projectcalico.org/v3 nodes, bgppeers and
    bgpconfigurations (Calico's API server) when --serve names them. Discovery: /api, /api/v1,
    /apis, /apis/GROUP, /apis/GROUP/VERSION. An unserved path is 404 with a Status.
  * One resourceVersion counter for everything (etcd's revision). LIST with `limit` and
    `continue` serves every page from the snapshot of the first one; the token of a snapshot
    older than the compacted history is 410 Expired. LIST items of built-in and aggregated
    types carry no apiVersion/kind (typed encoding), those of CRDs do.
  * WATCH (`watch=1`, `resourceVersion`, `allowWatchBookmarks`, `timeoutSeconds`): HTTP 200,
    chunked, one JSON event per line (ADDED, MODIFIED, DELETED; BOOKMARK every
    bookmark_interval seconds with the current resourceVersion when allowed). A resourceVersion
    older than the compacted history gets an ERROR event with a 410 "too old resource version"
    Status (or, with config watch_410_http, an HTTP 410), then the end of the stream. The
    stream ends cleanly after timeoutSeconds. A restarted server has lost its history, as a
    restarted kube-apiserver's watch cache has.

For the tests (all under /_fake/, with "Authorization: Bearer CONTROL_TOKEN"):

  GET  /_fake/stats          {"rv", "history_start", "requests": {"list v1/nodes": n, ...},
                              "open_watches": {"v1/nodes": n}, "events_sent": {...}}
  POST /_fake/reset_stats
  POST /_fake/ops            a JSON list of operations, applied in order:
    {"op": "put", "resource": "v1/nodes", "object": {...}}        create or replace (ADDED or
                                                                   MODIFIED, a new version)
    {"op": "delete", "resource": "...", "name": "..."}             DELETED
    {"op": "replace", "resource": "...", "objects": [...]}         make the resource hold exactly
                                                                   these (events for what differs)
    {"op": "bump"}                     a write elsewhere in the cluster: the revision moves on
    {"op": "compact"}                  forget the history before the current revision
    {"op": "drop_watches", "resource": "..." (optional), "mid_event": true}
                                       cut open watch connections, after half an event
    {"op": "inject", "resource": "...", "line": "..."}   a raw line into open watch streams
    {"op": "config", ...}              any of:
       tokens: [..]                    the accepted bearer tokens (rotation)
       hang: ["list v1/nodes", "watch *", "discovery", "*", ...]
                                       matching requests get no answer at all until the
                                       pattern is removed (the client must time out)
       fail: {"list crd.projectcalico.org/v1/bgppeers": 403, ...}   answer that status
       watch_410_http: bool            "too old" as HTTP 410 instead of an ERROR event
       bookmark_interval: seconds      0: no bookmarks
       compact_after_pages: N          once: after the Nth LIST page that has a continue
                                       token, the revision moves on and the history is
                                       compacted (that token expires)
       serve: ["crd", "v3"]            the Calico API groups served

Start: fake_apiserver.py --cert C --key K --token T --port-file F [--port P] [--client-ca CA]
       [--serve crd,v3] [--state FILE] [--seed FILE] [--control-token T] [--log FILE]
--state keeps the objects and the revision across restarts (rewritten after every /_fake/ops);
--seed is a JSON object {"v1/nodes": [objects], ...} loaded when there is no state yet.
"""

import argparse
import base64
import copy
import json
import os
import select
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RESOURCES = {
    # key: (group version, plural, kind, typed: LIST items without apiVersion/kind)
    "v1/nodes": ("v1", "nodes", "Node", True),
    "crd.projectcalico.org/v1/bgppeers": ("crd.projectcalico.org/v1", "bgppeers", "BGPPeer", False),
    "crd.projectcalico.org/v1/bgpconfigurations":
        ("crd.projectcalico.org/v1", "bgpconfigurations", "BGPConfiguration", False),
    "projectcalico.org/v3/nodes": ("projectcalico.org/v3", "nodes", "Node", True),
    "projectcalico.org/v3/bgppeers": ("projectcalico.org/v3", "bgppeers", "BGPPeer", True),
    "projectcalico.org/v3/bgpconfigurations":
        ("projectcalico.org/v3", "bgpconfigurations", "BGPConfiguration", True),
}
GROUPS = {"crd": "crd.projectcalico.org/v1", "v3": "projectcalico.org/v3"}
VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class Watch:
    """One open WATCH: events queued for it under the store's condition."""

    def __init__(self, key):
        self.key = key
        self.queue = []  # (rv, line bytes)
        self.cut = None  # None, or "mid_event"/"clean" when a test drops it


class Store:
    def __init__(self, state_file, seed_file, serve, bookmark_interval):
        self.cond = threading.Condition()
        self.state_file = state_file
        self.rv = 1
        self.objects = {key: {} for key in RESOURCES}
        self.history = []  # (rv, key, type, object): events after history_start
        self.snapshots = {}  # rv -> {key: [objects sorted by name]} for continue tokens
        self.watches = set()
        self.requests = {}
        self.events_sent = {}
        self.config = {"tokens": [], "hang": [], "fail": {}, "watch_410_http": False,
                       "bookmark_interval": bookmark_interval, "compact_after_pages": 0,
                       "serve": serve}
        if state_file and os.path.exists(state_file):
            with open(state_file, encoding="utf-8") as f:
                state = json.load(f)
            self.rv = state["rv"]
            for key, objs in state["objects"].items():
                self.objects[key] = {o["metadata"]["name"]: o for o in objs}
        elif seed_file:
            with open(seed_file, encoding="utf-8") as f:
                for key, objs in json.load(f).items():
                    for o in objs:
                        self.put(key, o)
            self.persist()
        self.history_start = self.rv  # a (re)started server has no history

    def count(self, what, n=1):
        self.requests[what] = self.requests.get(what, 0) + n

    def persist(self):
        if not self.state_file:
            return
        tmp = self.state_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"rv": self.rv, "objects": {k: list(v.values()) for k, v in self.objects.items()}}, f)
        os.replace(tmp, self.state_file)

    # --- writes (called with cond held) ---

    def emit(self, key, etype, obj):
        self.history.append((self.rv, key, etype, obj))
        line = (json.dumps({"type": etype, "object": obj}, separators=(",", ":")) + "\n").encode()
        for w in self.watches:
            if w.key == key:
                w.queue.append((self.rv, line))

    def put(self, key, obj):
        gv, _, kind, _ = RESOURCES[key]
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        name = meta.get("name", "")
        old = self.objects[key].get(name)
        self.rv += 1
        obj["apiVersion"], obj["kind"] = gv, kind
        meta["resourceVersion"] = str(self.rv)
        meta.setdefault("uid", old["metadata"]["uid"] if old else str(uuid.uuid4()))
        meta.setdefault("creationTimestamp",
                        old["metadata"]["creationTimestamp"] if old else
                        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        self.objects[key][name] = obj
        self.emit(key, "MODIFIED" if old else "ADDED", obj)

    def delete(self, key, name):
        old = self.objects[key].pop(name, None)
        if old is None:
            return
        self.rv += 1
        old = copy.deepcopy(old)
        old["metadata"]["resourceVersion"] = str(self.rv)
        self.emit(key, "DELETED", old)

    def replace(self, key, objs):
        want = {o["metadata"]["name"]: o for o in objs}
        for name in sorted(set(self.objects[key]) - set(want)):
            self.delete(key, name)
        for name, o in sorted(want.items()):
            old = self.objects[key].get(name)
            if old is None or strip_server_fields(old) != strip_server_fields(o):
                self.put(key, o)

    def bump(self):
        self.rv += 1

    def compact(self):
        self.history_start = self.rv
        self.history = []
        self.snapshots = {rv: s for rv, s in self.snapshots.items() if rv >= self.history_start}

    def apply(self, op):
        kind = op.get("op")
        if kind == "put":
            self.put(op["resource"], op["object"])
        elif kind == "delete":
            self.delete(op["resource"], op["name"])
        elif kind == "replace":
            self.replace(op["resource"], op["objects"])
        elif kind == "bump":
            self.bump()
        elif kind == "compact":
            self.compact()
        elif kind == "drop_watches":
            for w in self.watches:
                if op.get("resource") in (None, w.key):
                    w.cut = "mid_event" if op.get("mid_event", True) else "clean"
        elif kind == "inject":
            for w in self.watches:
                if w.key == op["resource"]:
                    w.queue.append((None, op["line"].encode() + b"\n"))
        elif kind == "config":
            for k, v in op.items():
                if k != "op":
                    self.config[k] = v
        else:
            raise ValueError(f"unknown op {kind!r}")


def strip_server_fields(obj):
    o = copy.deepcopy(obj)
    o.pop("apiVersion", None)
    o.pop("kind", None)
    for f in ("resourceVersion", "uid", "creationTimestamp"):
        o.get("metadata", {}).pop(f, None)
    return o


def matches(patterns, what):
    for p in patterns:
        if p == "*" or p == what or (p.endswith(" *") and what.startswith(p[:-1])):
            return True
    return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-kube-apiserver"

    def setup(self):
        self.request.settimeout(10)
        self.request.do_handshake()  # here, not in the accepting thread
        self.request.settimeout(60)
        super().setup()

    def log_message(self, fmt, *args):
        if self.server.log:
            self.server.log.write("%s %s\n" % (time.strftime("%H:%M:%S"), fmt % args))
            self.server.log.flush()

    @property
    def store(self):
        return self.server.store

    def send_json(self, code, body, reason=None):
        data = json.dumps(body).encode()
        self.send_response(code, reason)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_status(self, code, reason, message):
        self.send_json(code, status(code, reason, message))

    def authenticated(self):
        auth = self.headers.get("Authorization", "")
        with self.store.cond:
            tokens = list(self.store.config["tokens"])
        if auth.startswith("Bearer ") and auth[len("Bearer "):] in tokens:
            return True
        return bool(self.server.client_ca and self.request.getpeercert())

    # --- dispatch ---

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        if not url.path.startswith("/_fake/") or not self.control_authorized():
            self.send_status(404, "NotFound", "the server could not find the requested resource")
            return
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"null")
        with self.store.cond:
            if url.path == "/_fake/ops":
                try:
                    for op in body:
                        self.store.apply(op)
                except (KeyError, ValueError, TypeError) as e:
                    self.send_status(400, "BadRequest", f"bad op: {e!r}")
                    return
                self.store.persist()
            elif url.path == "/_fake/reset_stats":
                self.store.requests = {}
                self.store.events_sent = {}
            self.store.cond.notify_all()
            rv = self.store.rv
        self.send_json(200, {"rv": rv})

    def control_authorized(self):
        return self.headers.get("Authorization", "") == "Bearer " + self.server.control_token

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path.startswith("/_fake/"):
            if url.path == "/_fake/stats" and self.control_authorized():
                self.send_json(200, self.stats())
            else:
                self.send_status(404, "NotFound", "the server could not find the requested resource")
            return
        if not self.authenticated():
            with self.store.cond:
                self.store.count("unauthorized")
            self.send_status(401, "Unauthorized", "Unauthorized")
            return
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        key = self.resource_key(url.path)
        if key is None:
            self.discovery(url.path)
            return
        verb = "watch" if query.get("watch") in ("1", "true") else "list"
        what = f"{verb} {key}"
        if not self.wait_unless_hung(what):
            return
        with self.store.cond:
            self.store.count(what)
            failure = self.store.config["fail"].get(what)
        if failure:
            reasons = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 429: "TooManyRequests",
                       500: "InternalError", 503: "ServiceUnavailable"}
            _, plural, _, _ = RESOURCES[key]
            self.send_status(failure, reasons.get(failure, "Unknown"),
                             f'{plural} is {reasons.get(failure, "failing").lower()}: '
                             f'User "system:serviceaccount:test:intent" cannot {verb} resource '
                             f'"{plural}" at the cluster scope')
            return
        if verb == "watch":
            self.watch(key, query)
        else:
            self.list(key, query)

    def stats(self):
        with self.store.cond:
            open_watches = {}
            for w in self.store.watches:
                open_watches[w.key] = open_watches.get(w.key, 0) + 1
            return {"rv": self.store.rv, "history_start": self.store.history_start,
                    "requests": dict(self.store.requests), "open_watches": open_watches,
                    "events_sent": dict(self.store.events_sent)}

    def wait_unless_hung(self, what):
        """Blocks while `what` matches a hang pattern; False when the client went away."""
        with self.store.cond:
            if matches(self.store.config["hang"], what):
                self.store.count("hung " + what)
            while matches(self.store.config["hang"], what):
                self.store.cond.wait(0.5)
                if self.client_gone():
                    return False
        return True

    def client_gone(self):
        """The client closed the connection (or sent more: it does not wait for this answer)."""
        try:
            readable, _, _ = select.select([self.request], [], [], 0)
            return bool(readable)
        except (OSError, ValueError):
            return True

    def served(self, key):
        gv = RESOURCES[key][0]
        return gv == "v1" or any(GROUPS[g] == gv for g in self.store.config["serve"])

    def resource_key(self, path):
        parts = [p for p in path.split("/") if p]
        if len(parts) == 3 and parts[0] == "api":
            key = f"{parts[1]}/{parts[2]}"
        elif len(parts) == 4 and parts[0] == "apis":
            key = f"{parts[1]}/{parts[2]}/{parts[3]}"
        else:
            return None
        return key if key in RESOURCES and self.served(key) else None

    # --- discovery ---

    def discovery(self, path):
        if not self.wait_unless_hung("discovery"):
            return
        with self.store.cond:
            self.store.count("discovery")
            groups = [GROUPS[g] for g in self.store.config["serve"]]
        parts = [p for p in path.split("/") if p]
        if parts == ["api"]:
            self.send_json(200, {"kind": "APIVersions", "versions": ["v1"]})
        elif parts == ["api", "v1"]:
            self.send_json(200, self.resource_list("v1"))
        elif parts == ["apis"]:
            self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                self.group(gv) for gv in groups]})
        elif len(parts) == 2 and parts[0] == "apis" and any(gv.startswith(parts[1] + "/") for gv in groups):
            self.send_json(200, dict(self.group(next(gv for gv in groups if gv.startswith(parts[1] + "/"))),
                                     kind="APIGroup", apiVersion="v1"))
        elif len(parts) == 3 and parts[0] == "apis" and f"{parts[1]}/{parts[2]}" in groups:
            self.send_json(200, self.resource_list(f"{parts[1]}/{parts[2]}"))
        else:
            self.send_status(404, "NotFound", "the server could not find the requested resource")

    @staticmethod
    def group(gv):
        name, version = gv.split("/")
        v = {"groupVersion": gv, "version": version}
        return {"name": name, "versions": [v], "preferredVersion": v}

    @staticmethod
    def resource_list(gv):
        resources = []
        for g, plural, kind, _ in RESOURCES.values():
            if g == gv:
                resources.append({"name": plural, "singularName": kind.lower(), "namespaced": False,
                                  "kind": kind, "verbs": VERBS})
                if plural == "nodes":
                    resources.append({"name": "nodes/status", "singularName": "", "namespaced": False,
                                      "kind": kind, "verbs": ["get", "patch", "update"]})
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}

    # --- LIST ---

    def list(self, key, query):
        gv, _, kind, typed = RESOURCES[key]
        limit = int(query.get("limit") or 0)
        token = query.get("continue", "")
        with self.store.cond:
            store = self.store
            if token:
                try:
                    t = json.loads(base64.b64decode(token))
                    rv, start = int(t["rv"]), t["start"]
                except (ValueError, KeyError, TypeError):
                    self.send_status(400, "BadRequest", "continue key is not valid")
                    return
                if rv < store.history_start or rv not in store.snapshots or t.get("key") != key:
                    self.send_status(410, "Expired",
                                     "The provided continue parameter is too old to display a "
                                     "consistent list result. You can start a new list without "
                                     "the continue parameter.")
                    return
                snapshot = store.snapshots[rv][key]
                begin = next((i for i, o in enumerate(snapshot) if o["metadata"]["name"] > start),
                             len(snapshot))
            else:
                rv = store.rv
                snapshot = [store.objects[key][n] for n in sorted(store.objects[key])]
                store.snapshots.setdefault(rv, {})[key] = snapshot
                begin = 0
            end = len(snapshot) if limit <= 0 else min(len(snapshot), begin + limit)
            page = snapshot[begin:end]
            meta = {"resourceVersion": str(rv)}
            if end < len(snapshot):
                meta["continue"] = base64.b64encode(json.dumps(
                    {"rv": rv, "start": page[-1]["metadata"]["name"], "key": key}).encode()).decode()
                meta["remainingItemCount"] = len(snapshot) - end
            pages = store.config["compact_after_pages"]
            if pages and "continue" in meta:
                store.config["compact_after_pages"] = pages - 1
                if pages == 1:
                    store.bump()
                    store.compact()
        items = []
        for o in page:
            if typed:
                o = {k: v for k, v in o.items() if k not in ("apiVersion", "kind")}
            items.append(o)
        self.send_json(200, {"kind": kind + "List", "apiVersion": gv, "metadata": meta, "items": items})

    # --- WATCH ---

    def write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, key, query):
        gv, _, kind, _ = RESOURCES[key]
        try:
            since = int(query.get("resourceVersion") or 0)
        except ValueError:
            self.send_status(400, "BadRequest", "resourceVersion is not a number")
            return
        bookmarks = query.get("allowWatchBookmarks") == "true"
        timeout = float(query.get("timeoutSeconds") or 1800)
        deadline = time.monotonic() + timeout
        w = Watch(key)
        with self.store.cond:
            too_old = since and since < self.store.history_start
            if too_old and self.store.config["watch_410_http"]:
                self.send_status(410, "Expired", f"too old resource version: {since} "
                                                 f"({self.store.history_start})")
                return
            if not too_old:
                for rv, k, etype, obj in self.store.history:
                    if k == key and rv > since:
                        w.queue.append((rv, (json.dumps({"type": etype, "object": obj},
                                                        separators=(",", ":")) + "\n").encode()))
                self.store.watches.add(w)
            history_start = self.store.history_start
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        try:
            if too_old:
                self.write_chunk((json.dumps({"type": "ERROR", "object": status(
                    410, "Expired", f"too old resource version: {since} ({history_start})")}) + "\n").encode())
                self.wfile.write(b"0\r\n\r\n")
                return
            self.stream(w, gv, kind, bookmarks, deadline)
        except OSError:
            pass
        finally:
            with self.store.cond:
                self.store.watches.discard(w)

    def stream(self, w, gv, kind, bookmarks, deadline):
        next_bookmark = None
        while True:
            with self.store.cond:
                interval = self.store.config["bookmark_interval"] if bookmarks else 0
                now = time.monotonic()
                if not interval:
                    next_bookmark = None
                elif next_bookmark is None:
                    next_bookmark = now + interval
                wake = deadline if next_bookmark is None else min(deadline, next_bookmark)
                if not w.queue and w.cut is None and now < wake:
                    self.store.cond.wait(min(0.5, wake - now))
                lines, w.queue = w.queue, []
                cut = w.cut
                rv = self.store.rv
                self.store.events_sent[w.key] = self.store.events_sent.get(w.key, 0) + len(lines)
            for _, line in lines:
                self.write_chunk(line)
            if cut == "mid_event":
                half = json.dumps({"type": "MODIFIED", "object": {"kind": kind, "apiVersion": gv,
                                   "metadata": {"name": "cut", "resourceVersion": str(rv + 1)}}})
                self.write_chunk(half[: len(half) // 2].encode())
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            now = time.monotonic()
            if cut == "clean" or now >= deadline:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                return
            if next_bookmark is not None and now >= next_bookmark:
                self.write_chunk((json.dumps({"type": "BOOKMARK", "object": {
                    "kind": kind, "apiVersion": gv, "metadata": {"resourceVersion": str(rv)}}}) + "\n").encode())
                next_bookmark = now + interval


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # clients that go away, failed handshakes: nothing to report


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--client-ca")
    ap.add_argument("--token", action="append", default=[])
    ap.add_argument("--control-token", default="control")
    ap.add_argument("--serve", default="crd", help="comma-separated: crd, v3 (or none)")
    ap.add_argument("--state")
    ap.add_argument("--seed")
    ap.add_argument("--bookmark-interval", type=float, default=60.0)
    ap.add_argument("--log")
    args = ap.parse_args()

    serve = [g for g in args.serve.split(",") if g in GROUPS]
    store = Store(args.state, args.seed, serve, args.bookmark_interval)
    store.config["tokens"] = args.token
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    if args.client_ca:
        ctx.load_verify_locations(args.client_ca)
        ctx.verify_mode = ssl.CERT_OPTIONAL
    httpd = Server(("127.0.0.1", args.port), Handler)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
    httpd.store = store
    httpd.control_token = args.control_token
    httpd.client_ca = args.client_ca
    httpd.log = open(args.log, "a", encoding="utf-8") if args.log else None
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(str(httpd.server_address[1]))
    os.replace(tmp, args.port_file)
    try:
        httpd.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
