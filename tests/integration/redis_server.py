"""A real redis-server for integration tests, stdlib only.

RedisServer follows db_servers' servers: a context manager that starts
redis-server on a free loopback port in a temporary folder without
persistence (--save '' --appendonly no), optionally with --requirepass, and
on exit stops it and removes the folder. stop() and start() in between keep
the port (the data goes: nothing is saved), which is how tests simulate an
outage and a recovery. command() runs redis-cli against it; the password
goes through the REDISCLI_AUTH environment variable, never the command line.
"""

import os
import signal
import subprocess
import urllib.parse

import db_servers
import harness as h

SERVER = "/usr/bin/redis-server"
CLI = "/usr/bin/redis-cli"


class RedisServer(db_servers._Server):  # noqa: SLF001 - the shared server lifecycle
    def __init__(self, password=""):
        super().__init__("cppbx-redis-", user="", password=password, database="0")

    @classmethod
    def available(cls):
        return os.access(SERVER, os.X_OK) and os.access(CLI, os.X_OK)

    @classmethod
    def missing_message(cls):
        return f"{SERVER} or {CLI} not found (Debian packages redis-server, redis-tools)"

    @property
    def url(self):
        credentials = f":{urllib.parse.quote(self.password, safe='')}@" if self.password else ""
        return f"redis://{credentials}{h.LOOPBACK}:{self.port}/{self.database}"

    def _initialise(self):
        pass

    def _server_command(self):
        command = [SERVER, "--port", str(self.port), "--bind", h.LOOPBACK, "--save", "",
                   "--appendonly", "no", "--dir", self.dir]
        if self.password:
            command += ["--requirepass", self.password]
        return command

    def _stop_signal(self):
        return signal.SIGTERM

    def _ready(self):
        out = subprocess.run([CLI, "-h", h.LOOPBACK, "-p", str(self.port), "PING"],
                             capture_output=True, text=True, env=self._client_env())
        return out.returncode == 0 and out.stdout.strip() == "PONG"

    def _after_first_start(self):
        pass

    def _client_env(self):
        env = dict(os.environ)
        if self.password:
            env["REDISCLI_AUTH"] = self.password
        return env

    def command(self, *arguments):
        """Runs one command with redis-cli; returns its raw output lines."""
        out = self._run([CLI, "-h", h.LOOPBACK, "-p", str(self.port), "--raw", *arguments],
                        env=self._client_env())
        return out.splitlines()
