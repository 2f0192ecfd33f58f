"""Python HTTP services from tests/support/http_services for integration tests.

Service launches one script on a free loopback port (or the port it had, after
stop(): restart keeps the URL, so a test can take a service away and bring it
back), waits until it accepts connections, and calls its JSON control paths
(/_store, /_requests, ...). Stdlib only, like harness.py.
"""

import json
import os
import socket
import subprocess
import urllib.request

import harness as h

SERVICES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support", "http_services")


class Service:
    """A service script on a port of its own; stop() and start() keep the port."""

    def __init__(self, script, *arguments):
        self.script = script
        self.arguments = arguments
        self.port = h.free_port()
        self.process = None
        self.start()

    def start(self):
        self.process = subprocess.Popen(
            ["/usr/bin/python3", "-B", os.path.join(SERVICES, self.script), "--port", str(self.port),
             *self.arguments],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not h.poll(self._accepts, 20, interval=0.05):
            self.stop()
            raise h.CheckFailed(f"{self.script} did not start on port {self.port}")

    def _accepts(self):
        if self.process.poll() is not None:
            raise h.CheckFailed(f"{self.script} exited with {self.process.returncode}")
        try:
            with socket.create_connection((h.LOOPBACK, self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def url(self, path):
        return f"http://{h.LOOPBACK}:{self.port}{path}"

    def call(self, path, body=None):
        """GET `path` (POST `body` as JSON when given); the JSON answer."""
        data = json.dumps(body).encode() if body is not None else None
        with urllib.request.urlopen(urllib.request.Request(self.url(path), data=data), timeout=5) as answer:
            return json.loads(answer.read())
