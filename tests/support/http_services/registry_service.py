"""A small registry service for the http locator (docs/locator.md, "HTTP
locator protocol"): it owns the registrations cppbx reports.

- GET <any path>?aor=<aor>: the AoR's unexpired locations as a JSON array,
  404 when there are none.
- GET <any path>?list=1&aor_contains=..&offset=..&limit=..: one page of the
  unexpired locations whose AoR contains the text (case-insensitive), sorted
  by AoR then contact, as {"total": n, "locations": [...]}; limit 0 = all.
- POST <any path> with an event: "registered" stores the location under
  (aor, instance_id or contact), "unregistered" and "offline" remove the
  locations they name.
- Control paths: GET /_posts (every event received, with its headers),
  GET /_store (everything stored), POST /_put (store a location directly, as
  another node would), POST /_plan {"post_status": 500} (answer POSTs with
  this status, 0 to accept again).

Standard library only, one thread per connection, 127.0.0.1 on the port the
test picked.
"""

import argparse
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

from service_base import QuietServer


class Registry:
    def __init__(self):
        self.lock = threading.Lock()
        self.locations = {}  # (aor, key) -> location
        self.posts = []
        self.post_status = 0

    @staticmethod
    def key(location):
        return (location.get("aor", ""), location.get("instance_id") or location.get("contact", ""))

    def alive(self, aor):
        now = time.time()
        with self.lock:
            return [loc for (a, _), loc in self.locations.items()
                    if a == aor and loc.get("expires_at", now + 1) > now]

    def listing(self, contains, offset, limit):
        now = time.time()
        with self.lock:
            found = [loc for (a, _), loc in self.locations.items()
                     if contains.lower() in a.lower() and loc.get("expires_at", now + 1) > now]
        found.sort(key=lambda loc: (loc.get("aor", ""), loc.get("contact", "")))
        page = found[offset:] if limit == 0 else found[offset:offset + limit]
        return {"total": len(found), "locations": page}

    def apply(self, event):
        kind = event.get("event")
        with self.lock:
            if kind == "registered":
                self.locations[self.key(event["location"])] = event["location"]
            elif kind == "unregistered":
                self.locations.pop(self.key(event["location"]), None)
            elif kind == "offline":
                for location in event.get("locations", []):
                    self.locations.pop(self.key(location), None)
            else:
                return False
        return True


def make_handler(registry):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def _answer(self, status, payload):
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            if url.path == "/_posts":
                with registry.lock:
                    self._answer(200, registry.posts)
                return
            if url.path == "/_store":
                with registry.lock:
                    self._answer(200, list(registry.locations.values()))
                return
            query = urllib.parse.parse_qs(url.query)
            if query.get("list"):
                number = lambda name: int(query.get(name, ["0"])[-1] or 0)
                contains = query.get("aor_contains", [""])[-1]
                self._answer(200, registry.listing(contains, number("offset"), number("limit")))
                return
            aor = query.get("aor", [""])[-1]
            found = registry.alive(aor)
            self._answer(200 if found else 404, found if found else {"detail": "no locations"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            url = urllib.parse.urlsplit(self.path)
            try:
                payload = json.loads(raw or "{}")
            except ValueError:
                self._answer(400, {"detail": "not JSON"})
                return
            if url.path == "/_put":
                with registry.lock:
                    registry.locations[registry.key(payload)] = payload
                self._answer(200, {})
                return
            if url.path == "/_plan":
                with registry.lock:
                    registry.post_status = int(payload.get("post_status", 0))
                self._answer(200, {})
                return
            with registry.lock:
                registry.posts.append({"path": url.path, "headers": dict(self.headers.items()), "event": payload})
                forced = registry.post_status
            if forced:
                self._answer(forced, {"detail": "refused by plan"})
                return
            if not registry.apply(payload):
                self._answer(400, {"detail": "unknown event"})
                return
            self._answer(200, {})

    return Handler


def main():
    parser = argparse.ArgumentParser(description="registry service for the http locator")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    QuietServer(("127.0.0.1", args.port), make_handler(Registry())).serve_forever()


if __name__ == "__main__":
    main()
