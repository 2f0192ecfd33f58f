"""Shared plumbing for the stdlib test services of the http user backend.

Design decisions:
- Standard library only (http.server), HTTP/1.1 with keep-alive, one thread
  per connection, so slow answers do not hold up other connections and the
  tests can see whether cppbx reuses its connections.
- Every service counts lookups and connections and records the last request
  line and headers; GET /_stats returns them as JSON, so tests assert on what
  reached the service rather than on what cppbx says it sent.
- The port comes from the command line (the test picks a free one); the
  service binds 127.0.0.1 only.
"""

import argparse
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.lookups = 0
        self.connections = 0
        self.last_path = ""
        self.last_method = ""
        self.last_body = ""
        self.last_content_type = ""

    def as_json(self):
        with self.lock:
            return {
                "lookups": self.lookups,
                "connections": self.connections,
                "last_path": self.last_path,
                "last_method": self.last_method,
                "last_body": self.last_body,
                "last_content_type": self.last_content_type,
            }


def json_answer(status, payload):
    return status, "application/json", json.dumps(payload).encode()


def make_handler(lookup, stats):
    """lookup(method, path, params, headers) -> (status, content_type, body)
    or None to drop the connection without an answer."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            with stats.lock:
                stats.connections += 1

        def log_message(self, fmt, *args):  # keep test output quiet
            pass

        def _answer(self, status, content_type, body):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self, method):
            length = int(self.headers.get("Content-Length") or 0)
            raw_body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            url = urllib.parse.urlsplit(self.path)
            if url.path == "/_stats":
                self._answer(*json_answer(200, stats.as_json()))
                return
            if method == "POST":
                params = urllib.parse.parse_qs(raw_body, keep_blank_values=True)
            else:
                params = urllib.parse.parse_qs(url.query, keep_blank_values=True)
            params = {name: values[-1] for name, values in params.items()}
            with stats.lock:
                stats.lookups += 1
                stats.last_path = self.path
                stats.last_method = method
                stats.last_body = raw_body
                stats.last_content_type = self.headers.get("Content-Type", "")
            answer = lookup(method, url.path, params, self.headers)
            if answer is None:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self._answer(*answer)

        def do_GET(self):
            self._handle("GET")

        def do_POST(self):
            self._handle("POST")

    return Handler


def arguments(description, extra=None):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    if extra:
        extra(parser)
    return parser.parse_args()


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True  # a service stopped and started again keeps its port

    def handle_error(self, request, client_address):
        pass  # clients that time out or hang up are part of the tests


def serve(port, lookup):
    stats = Stats()
    server = QuietServer(("127.0.0.1", port), make_handler(lookup, stats))
    server.serve_forever()
