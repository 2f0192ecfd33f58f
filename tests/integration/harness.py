"""Integration harness: runs the real cppbx binary and talks SIP to it.

Design decisions:
- Standard library only (run with /usr/bin/python3), so CI needs nothing but
  the binary, SIPp and this folder.
- Every server gets fresh loopback ports (bound once with port 0 for UDP and
  TCP both, then released) and its own temp dir holding the config, the log
  and any SIPp traces; the context manager always kills what it started and
  removes the dir, even when a check fails.
- Readiness and every other wait is a poll with a generous deadline, never a
  bare sleep, so the suite is deterministic on a loaded machine.
- A tiny SIP client (raw UDP/TCP sockets, its own digest computation with
  hashlib) covers what SIPp cannot: SHA-256 digests, hand-written malformed
  messages, "expect no answer at all".
"""

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

LOOPBACK = "127.0.0.1"
HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = os.path.join(HERE, "scenarios")


class CheckFailed(Exception):
    """A failed expectation; the message says what was expected and seen."""


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


# --------------------------------------------------------------------------
# Ports

def free_port():
    """A loopback port that is free for both UDP and TCP right now."""
    for _ in range(50):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            udp.bind((LOOPBACK, 0))
            port = udp.getsockname()[1]
            try:
                tcp.bind((LOOPBACK, port))
            except OSError:
                continue
            return port
        finally:
            udp.close()
            tcp.close()
    raise RuntimeError("no free loopback port found for UDP and TCP")


# --------------------------------------------------------------------------
# SIP messages

COMPACT_HEADERS = {
    "v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
    "l": "content-length", "c": "content-type", "k": "supported",
    "s": "subject", "e": "content-encoding",
}


def canonical_header(name):
    name = name.strip().lower()
    return COMPACT_HEADERS.get(name, name)


class SipMessage:
    """A parsed SIP message: start line, headers in order, body."""

    def __init__(self, start_line, headers, body):
        self.start_line = start_line
        self.headers = headers  # list of (name as sent, value)
        self.body = body
        parts = start_line.split(" ", 2)
        self.is_response = parts[0].startswith("SIP/")
        self.status = int(parts[1]) if self.is_response and len(parts) > 1 and parts[1].isdigit() else 0
        self.reason = parts[2] if self.is_response and len(parts) > 2 else ""
        self.method = "" if self.is_response else parts[0]

    def all(self, name):
        """Every value of a header, comma-joined lines kept as sent."""
        wanted = canonical_header(name)
        return [value for key, value in self.headers if canonical_header(key) == wanted]

    def get(self, name, default=None):
        values = self.all(name)
        return values[0] if values else default

    def has(self, name):
        return bool(self.all(name))

    def contacts(self):
        """Contact values, split on commas outside <> and quotes."""
        result = []
        for value in self.all("contact"):
            result.extend(split_header_list(value))
        return result

    def __str__(self):
        lines = [self.start_line] + [f"{k}: {v}" for k, v in self.headers]
        return "\r\n".join(lines) + "\r\n\r\n" + self.body


def split_header_list(value):
    items, current, depth, quoted = [], "", 0, False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "<":
            depth += 1
        elif not quoted and ch == ">":
            depth -= 1
        if ch == "," and not quoted and depth == 0:
            items.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        items.append(current.strip())
    return items


def parse_message(data):
    """Parses one message (bytes or str); unfolds continuation lines."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    headers = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip())
        elif ":" in line:
            name, value = line.split(":", 1)
            headers.append((name.strip(), value.strip()))
    return SipMessage(lines[0], headers, body)


def contact_expires(contact):
    """The expires parameter of one Contact value (after the URI's '>')."""
    params = contact.split(">", 1)[1] if ">" in contact else contact
    match = re.search(r";\s*expires\s*=\s*(\d+)", params, re.I)
    return int(match.group(1)) if match else None


def contact_uri(contact):
    match = re.search(r"<([^>]*)>", contact)
    return match.group(1) if match else contact.split(";", 1)[0].strip()


def new_branch():
    return "z9hG4bK" + secrets.token_hex(8)


def new_tag():
    return secrets.token_hex(6)


def build_request(method, request_uri, *, via_host, via_port, transport="UDP",
                  from_uri, to_uri, call_id, cseq, from_tag=None,
                  headers=(), body="", branch=None, max_forwards=70,
                  cseq_method=None):
    """A request as text. `headers` are extra (name, value) pairs."""
    lines = [
        f"{method} {request_uri} SIP/2.0",
        f"Via: SIP/2.0/{transport} {via_host}:{via_port};branch={branch or new_branch()};rport",
        f"Max-Forwards: {max_forwards}" if max_forwards is not None else None,
        f"From: <{from_uri}>;tag={from_tag or new_tag()}",
        f"To: <{to_uri}>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {cseq_method or method}",
    ]
    lines = [line for line in lines if line is not None]
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append(f"Content-Length: {len(body.encode())}")
    return "\r\n".join(lines) + "\r\n\r\n" + body


# --------------------------------------------------------------------------
# Digest (RFC 7616 / RFC 8760)

HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def parse_challenge(value):
    """'Digest realm="x", nonce="y", ...' -> dict with lowercased keys."""
    scheme, _, rest = value.strip().partition(" ")
    params = {"scheme": scheme}
    for match in re.finditer(r'([A-Za-z0-9_-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^,\s]+)', rest):
        key = match.group(1).lower()
        params[key] = match.group(3) if match.group(3) is not None else match.group(2)
    return params


def digest_response(algorithm, username, realm, password, method, uri, nonce,
                    qop=None, cnonce=None, nc="00000001"):
    h = lambda s: HASHES[algorithm](s.encode()).hexdigest()  # noqa: E731
    ha1 = h(f"{username}:{realm}:{password}")
    ha2 = h(f"{method}:{uri}")
    if qop:
        return h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return h(f"{ha1}:{nonce}:{ha2}")


def authorization_header(challenge, username, password, method, uri):
    algorithm = challenge.get("algorithm", "MD5").upper()
    if algorithm == "SHA256":
        algorithm = "SHA-256"
    qop = None
    if "qop" in challenge:
        offered = [q.strip() for q in challenge["qop"].split(",")]
        qop = "auth" if "auth" in offered else None
    cnonce = secrets.token_hex(8)
    response = digest_response(algorithm, username, challenge["realm"], password,
                               method, uri, challenge["nonce"], qop, cnonce)
    parts = [f'username="{username}"', f'realm="{challenge["realm"]}"',
             f'nonce="{challenge["nonce"]}"', f'uri="{uri}"',
             f'response="{response}"', f"algorithm={algorithm}"]
    if qop:
        parts += [f"qop={qop}", "nc=00000001", f'cnonce="{cnonce}"']
    if "opaque" in challenge:
        parts.append(f'opaque="{challenge["opaque"]}"')
    return "Digest " + ", ".join(parts)


def challenges_of(response):
    header = "Proxy-Authenticate" if response.status == 407 else "WWW-Authenticate"
    return [parse_challenge(v) for v in response.all(header)]


def pick_challenge(response, algorithm):
    for challenge in challenges_of(response):
        if challenge.get("algorithm", "MD5").upper() == algorithm.upper():
            return challenge
    raise CheckFailed(f"no {algorithm} challenge in:\n{response}")


# --------------------------------------------------------------------------
# Raw clients

class UdpClient:
    """A UDP socket on loopback talking to one server port."""

    transport = "UDP"

    def __init__(self, server_port, local_port=0):
        self.server = (LOOPBACK, server_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, local_port))
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendto(data.encode() if isinstance(data, str) else data, self.server)

    def recv_raw(self, timeout):
        self.sock.settimeout(timeout)
        try:
            data, _ = self.sock.recvfrom(65535)
            return data
        except socket.timeout:
            return None

    def recv(self, timeout=5.0):
        data = self.recv_raw(timeout)
        return parse_message(data) if data is not None else None


class TcpClient:
    """A TCP connection; reads messages framed by Content-Length."""

    transport = "TCP"

    def __init__(self, server_port, timeout=5.0):
        self.sock = socket.create_connection((LOOPBACK, server_port), timeout=timeout)
        self.port = self.sock.getsockname()[1]
        self.buffer = b""

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65535)
        except socket.timeout:
            return False
        if not chunk:
            raise ConnectionError("server closed the TCP connection")
        self.buffer += chunk
        return True

    def recv_raw(self, timeout, size=1):
        """At least `size` bytes (whatever arrived), or None on timeout."""
        deadline = time.monotonic() + timeout
        while len(self.buffer) < size:
            if not self._fill(deadline):
                return None
        data, self.buffer = self.buffer, b""
        return data

    def recv(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end >= 0:
                head = parse_message(self.buffer[:head_end + 4])
                length = int(head.get("content-length", "0") or 0)
                total = head_end + 4 + length
                if len(self.buffer) >= total:
                    message, self.buffer = self.buffer[:total], self.buffer[total:]
                    return parse_message(message)
            if not self._fill(deadline):
                return None

    def closed_by_peer(self, timeout):
        """True when the server closes the connection within `timeout`."""
        deadline = time.monotonic() + timeout
        try:
            while self._fill(deadline):
                pass
        except (ConnectionError, OSError):
            return True
        return False


class SipUser:
    """Sends requests as one user and answers digest challenges itself."""

    def __init__(self, client, username, password, domain=LOOPBACK, server_port=None):
        self.client = client
        self.username = username
        self.password = password
        self.domain = domain if server_port is None else f"{domain}:{server_port}"
        self.call_id = secrets.token_hex(10) + "@integration"
        self.from_tag = new_tag()
        self.cseq = 0

    @property
    def aor(self):
        return f"sip:{self.username}@{self.domain}"

    def contact(self, tag="a", expires=None):
        uri = f"sip:{self.username}-{tag}@{LOOPBACK}:{self.client.port}"
        if self.client.transport == "TCP":
            uri += ";transport=tcp"
        value = f"<{uri}>"
        return value + (f";expires={expires}" if expires is not None else "")

    def send_request(self, method, headers=(), request_uri=None, to_uri=None,
                     max_forwards=70):
        """Sends one request; returns its final response (skips 1xx)."""
        self.cseq += 1
        text = build_request(
            method, request_uri or f"sip:{self.domain}",
            via_host=LOOPBACK, via_port=self.client.port, transport=self.client.transport,
            from_uri=self.aor, to_uri=to_uri or self.aor, call_id=self.call_id,
            cseq=self.cseq, from_tag=self.from_tag, headers=headers,
            max_forwards=max_forwards)
        self.client.send(text)
        return self.final_response()

    def final_response(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            response = self.client.recv(remaining) if remaining > 0 else None
            if response is None:
                return None
            if response.is_response and response.status >= 200 and \
                    response.get("call-id") == self.call_id:
                return response

    def request(self, method, headers=(), request_uri=None, to_uri=None,
                algorithm="MD5", password=None, max_forwards=70):
        """A request answered by digest auth when challenged: returns the
        response to the credentials (or the first final response when it is
        not a 401/407, or None on silence)."""
        request_uri = request_uri or f"sip:{self.domain}"
        first = self.send_request(method, headers, request_uri, to_uri, max_forwards)
        if first is None or first.status not in (401, 407):
            return first
        challenge = pick_challenge(first, algorithm)
        auth = authorization_header(challenge, self.username,
                                    self.password if password is None else password,
                                    method, request_uri)
        header = "Authorization" if first.status == 401 else "Proxy-Authorization"
        return self.send_request(method, list(headers) + [(header, auth)], request_uri,
                                 to_uri, max_forwards)

    def register(self, contacts=(), expires=None, algorithm="MD5", extra=(),
                 password=None):
        """REGISTER (digest-authenticated) with these Contact values."""
        headers = [("Contact", c) for c in contacts]
        if expires is not None:
            headers.append(("Expires", str(expires)))
        headers += list(extra)
        return self.request("REGISTER", headers, algorithm=algorithm, password=password)

    def query(self, algorithm="MD5"):
        """REGISTER without Contact: the current bindings, as Contact values."""
        response = self.register(algorithm=algorithm)
        check(response is not None and response.status == 200,
              f"query for {self.aor} expected 200, got {describe(response)}")
        return response.contacts()


def describe(response):
    if response is None:
        return "no answer"
    return f"{response.status} {response.reason}\n{response}"


# --------------------------------------------------------------------------
# The server under test

def memory_backend_toml(users):
    """[[proxy.user_backends]] of type memory with (username, password) pairs."""
    lines = ["[[proxy.user_backends]]", 'type = "memory"', ""]
    for username, password in users:
        lines += ["[[proxy.user_backends.users]]",
                  f'username = "{username}"', f'password = "{password}"', ""]
    return "\n".join(lines)


def toml_list(items):
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


class CppbxServer:
    """Starts cppbx with a generated config on free loopback ports.

    Use as a context manager; `proxy` holds extra [proxy] keys (TOML text
    values already formatted), `backends` the [[proxy.user_backends]] text.
    """

    def __init__(self, binary, backends, proxy=None, extra_toml="", files=None,
                 log_level="info"):
        self.binary = os.path.abspath(binary)
        self.backends = backends
        self.proxy = dict(proxy or {})
        self.extra_toml = extra_toml
        self.files = dict(files or {})
        self.log_level = log_level
        self.process = None
        self.dir = None
        self.port = None
        self.http_port = free_port()  # config_text() may be asked before start()

    # -- lifecycle --------------------------------------------------------

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="cppbx-integ-")
        try:
            self.start()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if self.process and self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=10)
        finally:
            self._log_handle_close()
            if exc_type is not None:
                self.dump_log_tail()
            if os.environ.get("CPPBX_KEEP_TMP"):
                print(f"kept {self.dir}", file=sys.stderr)
            else:
                shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def path(self, name):
        return os.path.join(self.dir, name)

    def write_file(self, name, text):
        with open(self.path(name), "w") as handle:
            handle.write(text)

    def config_text(self):
        proxy = {
            "addr": f'"{LOOPBACK}"',
            "udp_port": str(self.port),
            "tcp_port": str(self.port),
            "realms": toml_list([LOOPBACK]),
        }
        proxy.update(self.proxy)
        lines = [f'log_level = "{self.log_level}"',
                 f'database_url = "sqlite://{self.path("cppbx.sqlite3")}"',
                 f'http_addr = "{LOOPBACK}:{self.http_port}"', self.extra_toml, "", "[proxy]"]
        lines += [f"{key} = {value}" for key, value in proxy.items()]
        lines += ["", self.backends, ""]
        return "\n".join(lines)

    def start(self):
        self.port = free_port()
        for name, text in self.files.items():
            self.write_file(name, text)
        self.write_file("cppbx.toml", self.config_text())
        self._log = open(self.path("cppbx.log"), "wb")
        self.process = subprocess.Popen(
            [self.binary, "--conf", self.path("cppbx.toml")],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=self.dir)
        self.wait_ready()

    def _log_handle_close(self):
        handle = getattr(self, "_log", None)
        if handle and not handle.closed:
            handle.close()

    def wait_ready(self, timeout=15.0):
        """Polls with OPTIONS over UDP until the server answers."""
        client = UdpClient(self.port)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise CheckFailed(f"cppbx exited with {self.process.returncode} "
                                      f"during start-up:\n{self.log_text()}")
                if self.options_ping(client, timeout=0.3):
                    return
            raise CheckFailed(f"cppbx did not answer OPTIONS within {timeout}s:\n{self.log_text()}")
        finally:
            client.close()

    def options_ping(self, client=None, timeout=2.0):
        """True when an OPTIONS to the server itself gets a 200."""
        own = client is None
        client = client or UdpClient(self.port)
        try:
            call_id = secrets.token_hex(8)
            client.send(build_request(
                "OPTIONS", f"sip:{LOOPBACK}:{self.port}", via_host=LOOPBACK,
                via_port=client.port, transport=client.transport,
                from_uri=f"sip:probe@{LOOPBACK}", to_uri=f"sip:{LOOPBACK}:{self.port}",
                call_id=call_id, cseq=1))
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                response = client.recv(max(deadline - time.monotonic(), 0.01))
                if response and response.get("call-id") == call_id and response.status >= 200:
                    return response.status == 200
            return False
        finally:
            if own:
                client.close()

    def stop(self, timeout=5.0):
        """SIGTERM; cppbx must exit 0 within `timeout` seconds."""
        check(self.process.poll() is None,
              f"cppbx died before stop with code {self.process.returncode}")
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise CheckFailed(f"cppbx did not exit within {timeout}s of SIGTERM")
        check(code == 0, f"cppbx exited with {code} after SIGTERM:\n{self.log_text()[-3000:]}")

    def reload(self):
        self.process.send_signal(signal.SIGHUP)

    def alive(self):
        return self.process.poll() is None

    def log_text(self):
        try:
            with open(self.path("cppbx.log"), "rb") as handle:
                return handle.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def dump_log_tail(self, chars=4000):
        text = self.log_text()
        if text:
            print(f"--- cppbx log (last {chars} chars) ---\n{text[-chars:]}\n---",
                  file=sys.stderr)


# --------------------------------------------------------------------------
# SIPp

class SippResult:
    def __init__(self, code, stats, output, errors):
        self.code = code
        self.stats = stats  # the last -stf row: column name -> text
        self.successful = int(stats.get("SuccessfulCall(C)", -1))
        self.failed = int(stats.get("FailedCall(C)", -1))
        self.output = output
        self.errors = errors

    def describe(self):
        return (f"sipp exit {self.code}, successful {self.successful}, failed {self.failed}\n"
                f"{self.output[-2000:]}\n{self.errors[-3000:]}")


def write_users_csv(path, rows, order="SEQUENTIAL"):
    """rows: lists of fields; field 2 is usually an [authentication ...] keyword."""
    with open(path, "w") as handle:
        handle.write(order + "\n")
        for row in rows:
            handle.write(";".join(row) + "\n")


def auth_field(username, password):
    return f"[authentication username={username} password={password}]"


def read_sipp_stats(path):
    """The last row of a -stf file as {column: value}; {} when empty."""
    with open(path) as handle:
        lines = [line.strip() for line in handle if line.strip()]
    if len(lines) < 2:
        return {}
    return dict(zip(lines[0].split(";"), lines[-1].split(";")))


def sipp_duration_seconds(text):
    """SIPp's 'HH:MM:SS' or 'HH:MM:SS:uuuuuu' as seconds (0.0 if unreadable)."""
    parts = text.split(":")
    if len(parts) not in (3, 4) or not all(part.isdigit() for part in parts):
        return 0.0
    seconds = int(parts[0]) * 3600 + int(parts[1]) * 60 + int(parts[2])
    return seconds + (int(parts[3]) / 1e6 if len(parts) == 4 else 0.0)


def run_sipp(server_port, scenario, users_csv, calls, workdir, transport="u1",
             rate=None, rate_period=None, limit=None, timeout=30, extra=(),
             recv_timeout_ms=10000):
    """Runs one SIPp client; returns a SippResult with the final counters."""
    name = os.path.splitext(os.path.basename(scenario))[0]
    stats = os.path.join(workdir, f"{name}-{secrets.token_hex(4)}.csv")
    errors = os.path.join(workdir, f"{name}-{secrets.token_hex(4)}-errors.log")
    command = ["sipp", f"{LOOPBACK}:{server_port}", "-sf", scenario,
               "-inf", users_csv, "-m", str(calls), "-i", LOOPBACK,
               "-p", str(free_port()), "-t", transport, "-nostdin",
               "-trace_err", "-error_file", errors,
               "-trace_stat", "-stf", stats, "-fd", "1",
               "-timeout", f"{timeout}s", "-timeout_error",
               "-recv_timeout", str(recv_timeout_ms), "-max_recv_loops", "10000"]
    if rate is not None:
        command += ["-r", str(rate)]
    if rate_period is not None:
        command += ["-rp", str(rate_period)]
    if limit is not None:
        command += ["-l", str(limit)]
    command += list(extra)
    completed = subprocess.run(command, cwd=workdir, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=timeout + 60)
    output = completed.stdout.decode("utf-8", "replace")
    stat_row = read_sipp_stats(stats) if os.path.exists(stats) else {}
    error_text = ""
    if os.path.exists(errors):
        with open(errors, errors="replace") as handle:
            error_text = handle.read()
    return SippResult(completed.returncode, stat_row, output, error_text)


def scenario(name):
    return os.path.join(SCENARIOS, name)


# --------------------------------------------------------------------------
# A tiny test runner: named checks, a summary, non-zero exit on failure.

def poll(predicate, timeout, interval=0.1):
    """Calls predicate until it returns a truthy value or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def run_cases(cases):
    """cases: list of (name, callable). Runs all; returns the failed names."""
    failures = []
    for name, case in cases:
        started = time.monotonic()
        try:
            case()
            print(f"PASS {name} ({time.monotonic() - started:.1f}s)", flush=True)
        except Exception as error:  # noqa: BLE001 - report every failure kind
            failures.append(name)
            print(f"FAIL {name}: {type(error).__name__}: {error}", flush=True)
    print(f"{len(cases) - len(failures)}/{len(cases)} passed", flush=True)
    return failures


def run_suite_no_exit(make_server, make_cases):
    """Starts a server, runs its cases, dumps the log on failure; returns
    True when anything failed."""
    try:
        with make_server() as server:
            failures = run_cases(make_cases(server))
            if failures:
                server.dump_log_tail()
            return bool(failures)
    except CheckFailed as error:
        print(f"FAIL start-up: {error}", flush=True)
        return True


def run_suite(make_server, make_cases):
    sys.exit(1 if run_suite_no_exit(make_server, make_cases) else 0)


def binary_from_argv():
    if len(sys.argv) < 2:
        print(f"usage: {sys.argv[0]} /path/to/cppbx", file=sys.stderr)
        sys.exit(2)
    binary = sys.argv[1]
    if not os.access(binary, os.X_OK):
        print(f"cppbx binary not executable: {binary}", file=sys.stderr)
        sys.exit(2)
    return binary


@contextlib.contextmanager
def closing_all(*clients):
    try:
        yield clients
    finally:
        for client in clients:
            client.close()
