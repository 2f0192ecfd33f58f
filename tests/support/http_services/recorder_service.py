"""A recording HTTP receiver for the HTTP client and locator webhook tests.

Design decisions:
- Standard library only, HTTP/1.1 keep-alive, one thread per connection (a
  slow answer never holds up another connection), bound to 127.0.0.1 on the
  port the test picked.
- Every request (except the /_ control paths) is recorded with its method,
  path, headers, body and arrival time; GET /_requests returns them, so tests
  assert on what reached the service, not on what the client says it sent.
- What it answers is controlled by the path for the client tests
  (/status/<code>, /slow/<ms>, /big/<bytes>, /drop, /echo) and, for any
  other path, by a plan: POST /_plan {"statuses": [503, 200], "delay_ms": 0}
  answers the next requests with those statuses in turn, then with the
  default (--status, --delay-ms).
"""

import argparse
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

from service_base import QuietServer


class Recorder:
    def __init__(self, status, delay_ms):
        self.lock = threading.Lock()
        self.requests = []
        self.connections = 0
        self.plan = []
        self.default_status = status
        self.delay_ms = delay_ms

    def next_answer(self):
        with self.lock:
            status = self.plan.pop(0) if self.plan else self.default_status
            return status, self.delay_ms


def make_handler(recorder):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            with recorder.lock:
                recorder.connections += 1

        def log_message(self, fmt, *args):
            pass

        def _answer(self, status, body=b"", content_type="application/json"):
            if status in (204, 304):
                body = b""  # these statuses carry no body (RFC 9110)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _control(self, path, body):
            if path == "/_requests":
                with recorder.lock:
                    payload = {"requests": recorder.requests, "connections": recorder.connections}
                self._answer(200, json.dumps(payload).encode())
            elif path == "/_reset":
                with recorder.lock:
                    recorder.requests = []
                    recorder.plan = []
                self._answer(200, b"{}")
            elif path == "/_plan":
                plan = json.loads(body or "{}")
                with recorder.lock:
                    recorder.plan = list(plan.get("statuses", []))
                    if "delay_ms" in plan:
                        recorder.delay_ms = plan["delay_ms"]
                    if "default_status" in plan:
                        recorder.default_status = plan["default_status"]
                self._answer(200, b"{}")
            else:
                self._answer(404, b"{}")

        def _handle(self, method):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            url = urllib.parse.urlsplit(self.path)
            if url.path.startswith("/_"):
                self._control(url.path, body)
                return
            record = {
                "method": method,
                "path": url.path,
                "query": url.query,
                "headers": {name: value for name, value in self.headers.items()},
                "body": body,
                "time": time.time(),
            }
            with recorder.lock:
                recorder.requests.append(record)
            parts = url.path.strip("/").split("/")
            if parts[0] == "status" and len(parts) == 2:
                self._answer(int(parts[1]), b'{"status": "as asked"}')
            elif parts[0] == "slow" and len(parts) == 2:
                time.sleep(int(parts[1]) / 1000.0)
                self._answer(200, b'{"slow": true}')
            elif parts[0] == "big" and len(parts) == 2:
                self._answer(200, b"x" * int(parts[1]), "text/plain")
            elif parts[0] == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
            elif parts[0] == "echo":
                self._answer(200, json.dumps(record).encode())
            else:
                status, delay_ms = recorder.next_answer()
                if delay_ms:
                    time.sleep(delay_ms / 1000.0)
                self._answer(status, b"{}")

        def do_GET(self):
            self._handle("GET")

        def do_POST(self):
            self._handle("POST")

        def do_PUT(self):
            self._handle("PUT")

        def do_DELETE(self):
            self._handle("DELETE")

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--status", type=int, default=200)
    parser.add_argument("--delay-ms", type=int, default=0)
    args = parser.parse_args()
    server = QuietServer(("127.0.0.1", args.port), make_handler(Recorder(args.status, args.delay_ms)))
    server.serve_forever()


if __name__ == "__main__":
    main()
