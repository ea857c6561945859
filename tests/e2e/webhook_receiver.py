#!/usr/bin/python3
"""Alertmanager webhook receiver for the e2e test: appends every notification (the JSON body
Alertmanager POSTs) as one line to a file. Standard library only.

    webhook_receiver.py HOST PORT OUT.jsonl
"""
import http.server
import json
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    out_path = ""

    def do_POST(self):  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        try:
            doc = json.loads(body)
        except ValueError:
            self.send_response(400)
            self.end_headers()
            return
        with open(self.out_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(doc) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):  # noqa: N802 (readiness probe of the test)
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, fmt, *args):
        sys.stderr.write("webhook: " + (fmt % args) + "\n")


def main():
    host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    Handler.out_path = out
    server = http.server.ThreadingHTTPServer((host, port), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
