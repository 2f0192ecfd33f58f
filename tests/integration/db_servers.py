"""Real database servers for integration tests, stdlib only.

PostgresServer and MariaDbServer are context managers: each creates a
temporary folder, initialises a fresh data directory there, starts the
server on a free loopback port with a password-protected account, and on
exit stops it and removes the folder. stop() and start() in between keep the
data and the port, which is how tests simulate an outage and a recovery.

PostgreSQL refuses to run as root, so it runs as the `postgres` system user
(or `nobody`) in a folder handed to that user. The servers are started
directly (not through pg_ctl or mysqld_safe) so stop() signals the exact
process it started. available() is False only when the binaries are missing;
callers skip with missing_message() then, and fail on any other problem.
Other engineers may add more servers here (Redis, HTTP) in the same style.
"""

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse

import harness as h

# Spaces, quotes and URL delimiters prove the password is escaped on every hop.
TEST_PASSWORD = "s3cret p@ss:w/rd'%"


def _first_executable(*paths):
    for path in paths:
        if os.access(path, os.X_OK):
            return path
    return None


class _Server:
    def __init__(self, prefix, user="cppbx", password=TEST_PASSWORD, database="cppbx"):
        self.prefix = prefix
        self.user = user
        self.password = password
        self.database = database
        self.dir = None
        self.port = None
        self.process = None
        self._log = None

    # -- lifecycle --------------------------------------------------------

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix=self.prefix)
        try:
            self._initialise()
            # The port may be taken between picking and binding it: a server
            # that exits at once gets another one (later starts keep theirs).
            for attempt in range(3):
                self.port = h.free_port()
                try:
                    self.start()
                    break
                except h.CheckFailed:
                    if attempt == 2 or self.running():
                        raise
            self._after_first_start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self.stop()
        if self._log:
            self._log.close()
            self._log = None
        if os.environ.get("CPPBX_KEEP_TMP"):
            print(f"kept {self.dir}")
        elif self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def start(self, timeout=60.0):
        if self.running():
            return
        if self._log is None:
            self._log = open(os.path.join(self.dir, "server.log"), "ab")
        self.process = subprocess.Popen(self._server_command(), stdout=self._log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True, **self._run_as())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise h.CheckFailed(f"{self.prefix} server exited during start-up:\n"
                                    f"{self.log_tail()}")
            if self._ready():
                return
            time.sleep(0.1)
        self.stop()
        raise h.CheckFailed(f"{self.prefix} server not ready within {timeout}s:\n{self.log_tail()}")

    def stop(self, timeout=30.0):
        if not self.running():
            self.process = None
            return
        self.process.send_signal(self._stop_signal())
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def running(self):
        return self.process is not None and self.process.poll() is None

    def log_tail(self, chars=3000):
        try:
            with open(os.path.join(self.dir, "server.log"), "rb") as handle:
                return handle.read().decode(errors="replace")[-chars:]
        except OSError:
            return ""

    @property
    def url(self):
        quote = lambda text: urllib.parse.quote(text, safe="")  # noqa: E731
        return (f"{self.scheme}://{quote(self.user)}:{quote(self.password)}@"
                f"{h.LOOPBACK}:{self.port}/{self.database}")

    def _run(self, command, env=None, **kwargs):
        out = subprocess.run(command, capture_output=True, text=True, timeout=120,
                             env=env, **kwargs)
        if out.returncode != 0:
            raise h.CheckFailed(f"{command[0]} failed ({out.returncode}):\n"
                                f"{out.stdout}\n{out.stderr}")
        return out.stdout

    def _run_as(self):
        return {}

    def _stop_signal(self):
        return signal.SIGTERM


class PostgresServer(_Server):
    """PostgreSQL 15 with scram-sha-256 password authentication over TCP."""

    BIN = "/usr/lib/postgresql/15/bin"
    scheme = "postgres"

    def __init__(self, **kwargs):
        super().__init__("cppbx-pg-", **kwargs)
        self.account = None

    @classmethod
    def available(cls):
        return all(os.access(os.path.join(cls.BIN, name), os.X_OK)
                   for name in ("initdb", "postgres", "pg_isready", "createdb", "psql"))

    @classmethod
    def missing_message(cls):
        return f"PostgreSQL 15 binaries not found in {cls.BIN} (Debian package postgresql-15)"

    def _initialise(self):
        for name in ("postgres", "nobody"):
            try:
                self.account = pwd.getpwnam(name)
                break
            except KeyError:
                continue
        if self.account is None:
            raise h.CheckFailed("no postgres or nobody account to run PostgreSQL as")
        os.chown(self.dir, self.account.pw_uid, self.account.pw_gid)
        password_file = os.path.join(self.dir, "password")
        with open(password_file, "w") as handle:
            handle.write(self.password + "\n")
        os.chown(password_file, self.account.pw_uid, self.account.pw_gid)
        try:
            self._run([os.path.join(self.BIN, "initdb"), "-D", os.path.join(self.dir, "data"),
                       "-U", self.user, f"--pwfile={password_file}",
                       "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8",
                       "--no-sync", "--no-instructions"], cwd=self.dir, **self._run_as())
        finally:
            os.remove(password_file)

    def _run_as(self):
        return {"user": self.account.pw_uid, "group": self.account.pw_gid, "extra_groups": []}

    def _server_command(self):
        return [os.path.join(self.BIN, "postgres"), "-D", os.path.join(self.dir, "data"),
                "-p", str(self.port), "-k", self.dir, "-c", f"listen_addresses={h.LOOPBACK}",
                "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "shared_buffers=16MB",
                "-c", "max_connections=60"]

    def _stop_signal(self):
        return signal.SIGINT  # fast shutdown

    def _ready(self):
        return subprocess.run([os.path.join(self.BIN, "pg_isready"), "-q", "-h", h.LOOPBACK,
                               "-p", str(self.port), "-t", "1"]).returncode == 0

    def _client_env(self):
        env = dict(os.environ)
        env["PGPASSWORD"] = self.password
        return env

    def _after_first_start(self):
        self._run([os.path.join(self.BIN, "createdb"), "-h", h.LOOPBACK, "-p", str(self.port),
                   "-U", self.user, self.database], env=self._client_env())

    def sql(self, statements):
        """Runs SQL as the test account; returns psql's unaligned output."""
        return self._run([os.path.join(self.BIN, "psql"), "-h", h.LOOPBACK, "-p",
                          str(self.port), "-U", self.user, "-d", self.database, "-v",
                          "ON_ERROR_STOP=1", "-qAt", "-c", statements], env=self._client_env())


class MariaDbServer(_Server):
    """MariaDB with its own datadir; the test account has a real password."""

    scheme = "mysql"

    def __init__(self, **kwargs):
        super().__init__("cppbx-mariadb-", **kwargs)

    @staticmethod
    def _binaries():
        return (_first_executable("/usr/sbin/mariadbd", "/usr/sbin/mysqld"),
                _first_executable("/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db"),
                _first_executable("/usr/bin/mariadb", "/usr/bin/mysql"),
                _first_executable("/usr/bin/mariadb-admin", "/usr/bin/mysqladmin"))

    @classmethod
    def available(cls):
        return all(cls._binaries())

    @classmethod
    def missing_message(cls):
        return ("MariaDB binaries (mariadbd, mariadb-install-db, mariadb, mariadb-admin) not found "
                "(Debian packages mariadb-server and mariadb-client)")

    @property
    def socket(self):
        return os.path.join(self.dir, "mysqld.sock")

    def _initialise(self):
        # Its own tmpdir: a MariaDB starting up clears the temporary tables it
        # finds there, including another instance's bootstrapping beside it.
        os.makedirs(f"{self.dir}/tmp", exist_ok=True)
        self._run([self._binaries()[1], "--no-defaults", f"--datadir={self.dir}/data",
                   f"--tmpdir={self.dir}/tmp", "--user=root", "--auth-root-authentication-method=socket", "--skip-test-db",
                   "--skip-name-resolve"])

    def _server_command(self):
        return [self._binaries()[0], "--no-defaults", f"--datadir={self.dir}/data",
                f"--tmpdir={self.dir}/tmp", f"--socket={self.socket}", f"--pid-file={self.dir}/mysqld.pid",
                f"--port={self.port}", f"--bind-address={h.LOOPBACK}", "--user=root",
                "--skip-name-resolve", "--skip-log-bin", "--innodb-buffer-pool-size=16M",
                "--max-connections=60"]

    def _ready(self):
        return subprocess.run([self._binaries()[3], "--no-defaults", f"--socket={self.socket}",
                               "-uroot", "ping"], capture_output=True).returncode == 0

    def _after_first_start(self):
        literal = self.password.replace("\\", "\\\\").replace("'", "''")
        self.root_sql(f"CREATE DATABASE `{self.database}`; "
                      f"CREATE USER '{self.user}'@'{h.LOOPBACK}' IDENTIFIED BY '{literal}'; "
                      f"GRANT ALL ON `{self.database}`.* TO '{self.user}'@'{h.LOOPBACK}';")

    def root_sql(self, statements, database=None):
        command = [self._binaries()[2], "--no-defaults", f"--socket={self.socket}", "-uroot",
                   "--batch", "--skip-column-names"]
        if database:
            command.append(database)
        return self._run(command + ["-e", statements])

    def sql(self, statements):
        """Runs SQL in the test database; returns the tab-separated rows."""
        return self.root_sql(statements, self.database)
