"""A small, fast HTTP user service for the backend benchmark (stdlib only).

Design decisions:
- Standard library http.server rather than the FastAPI example of
  docs/user-backends.md: the example knows one user, FastAPI needs packages
  the benchmark should not depend on, and a pydantic/ASGI stack spends more
  CPU per request than this handler, CPU that on a 2-core machine is taken
  from cppbx and SIPp. The bench measures the service's CPU apart anyway.
- One thread per connection (ThreadingHTTPServer), HTTP/1.1 keep-alive, as
  cppbx keeps its connections open; Nagle off and the head and body sent in
  one write, so no answer waits for a delayed ACK (40 ms on Linux).
- Every answer is prepared at start: a lookup is a dict access, so what is
  measured is cppbx's HTTP client plus the service's HTTP framing, not the
  service's own logic.
- The protocol of docs/user-backends.md: GET ?username=..&realm=..; 200 with
  {"username", "password"} or 404 {"reason": "not_found"}.
"""

import argparse
import json
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def load_answers(path):
    """users file: one 'username<TAB>password' per line -> prepared bodies."""
    answers = {}
    with open(path) as handle:
        for line in handle:
            username, password = line.rstrip("\n").split("\t", 1)
            answers[username] = json.dumps({"username": username, "password": password}).encode()
    return answers


def response_bytes(status, reason, body):
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    return head + body


NOT_FOUND = response_bytes(404, "Not Found", b'{"reason": "not_found"}')


def make_handler(answers):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, fmt, *args):
            pass

        def do_GET(self):
            query = urllib.parse.urlsplit(self.path).query
            username = urllib.parse.parse_qs(query).get("username", [""])[-1]
            body = answers.get(username)
            self.wfile.write(response_bytes(200, "OK", body) if body is not None else NOT_FOUND)

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512

    def handle_error(self, request, client_address):
        pass  # a client hanging up mid-answer is not the service's problem


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--users", required=True, help="file of username<TAB>password lines")
    args = parser.parse_args()
    server = Server(("127.0.0.1", args.port), make_handler(load_answers(args.users)))
    server.serve_forever()


if __name__ == "__main__":
    main()
