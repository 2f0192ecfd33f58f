"""The console's HTTP API (docs/http-api.md) against a real cppbx.

An administrator is created with --super-username/--super-password on the
server's own database before it starts. The routes checked for 401 are read
from docs/http-api.md (its "### METHOD /api/..." headings), so the docs and
the server cannot drift apart silently: every documented route must exist
(not 404 once logged in) and refuse a request without a session.

Real services: the FastAPI example user service (http backend and its Test),
the recording receiver (webhook and its Test), SIP REGISTERs through the
extension backend. Stdlib only.
"""

import contextlib
import http.client
import json
import os
import re
import socket
import shutil
import sqlite3
import ssl
import subprocess
import tempfile
import threading
import time

import harness as h
import redis_server
from harness import check
from services import Service

DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "http-api.md")
ADMIN = "admin"
ADMIN_PASSWORD = "Adm1n-pa55-" + os.urandom(6).hex()
HTTP_BACKEND_SECRET = "Bearer http-backend-s3cret"
WEBHOOK_SECRET = "Bearer webhook-s3cret"
DB_PASSWORD = "dbs3cret"
MASK = "********"


def documented_routes():
    """(method, path pattern) for every '### METHOD /api/...' heading."""
    with open(DOCS) as handle:
        routes = re.findall(r"^### (GET|POST|PUT|PATCH|DELETE) (/api/\S+)\s*$", handle.read(), re.MULTILINE)
    check(len(routes) >= 15, f"docs/http-api.md lists only {len(routes)} routes")
    return routes


def concrete(pattern):
    return pattern.replace("{username}", "1001")


class ApiServer(h.CppbxServer):
    """CppbxServer with an administrator created first, and its http_port."""

    def start(self):
        self.port = h.free_port()
        self.write_file("admin.toml", h.CppbxServer.config_text(self))  # same database
        done = subprocess.run([self.binary, "--conf", self.path("admin.toml"), "--super-username", ADMIN,
                               "--super-password", ADMIN_PASSWORD],
                              capture_output=True, text=True, cwd=self.dir, timeout=60)
        check(done.returncode == 0, f"--super-username failed: {done.stdout} {done.stderr}")
        check("created" in done.stdout and ADMIN_PASSWORD not in done.stdout + done.stderr,
              f"unexpected output: {done.stdout!r}")
        super().start()
        with open(self.path("cppbx.toml")) as handle:
            self.http_port = int(re.search(r'^http_addr = "127\.0\.0\.1:(\d+)"', handle.read(), re.M).group(1))


class Client:
    """One API client: keeps the session cookie and the CSRF token."""

    def __init__(self, server, source="127.0.0.1"):
        self.server = server
        self.source = source
        self.cookie = None
        self.csrf = None

    def call(self, method, path, body=None, csrf=True, headers=None, raw_body=None):
        connection = http.client.HTTPConnection(h.LOOPBACK, self.server.http_port, timeout=30,
                                                source_address=(self.source, 0))
        sent = dict(headers or {})
        data = raw_body
        if body is not None:
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        if self.cookie:
            sent["Cookie"] = self.cookie
        if csrf and self.csrf:
            sent["X-CSRF-Token"] = self.csrf
        try:
            connection.request(method, path, body=data, headers=sent)
            answer = connection.getresponse()
            text = answer.read().decode("utf-8", "replace")
            parsed = json.loads(text) if text else None
            return answer.status, parsed, answer, text
        finally:
            connection.close()

    def login(self, password=ADMIN_PASSWORD, username=ADMIN):
        status, body, answer, _ = self.call("POST", "/api/login", {"username": username, "password": password})
        if status == 200:
            self.cookie = answer.getheader("Set-Cookie").split(";")[0]
            self.csrf = body["csrf_token"]
        return status, body, answer


def make_certificate(folder):
    """A self-signed P-256 certificate for localhost/127.0.0.1 (the openssl command)."""
    certificate, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", certificate, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return certificate, key


def https_call(port, certificate, method, path, body=None, cookie=None, csrf=None):
    context = ssl.create_default_context(cafile=certificate)
    connection = http.client.HTTPSConnection(h.LOOPBACK, port, timeout=30, context=context)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if cookie:
        headers["Cookie"] = cookie
    if csrf:
        headers["X-CSRF-Token"] = csrf
    try:
        connection.request(method, path, body=json.dumps(body).encode() if body is not None else None,
                           headers=headers)
        answer = connection.getresponse()
        text = answer.read().decode()
        return answer.status, (json.loads(text) if text else None), answer
    finally:
        connection.close()


def https_cases(server, certificate, https_port):
    def login_over_https_sets_a_secure_cookie():
        status, body, answer = https_call(https_port, certificate, "POST", "/api/login",
                                          {"username": ADMIN, "password": ADMIN_PASSWORD})
        check(status == 200, f"https login: {status} {body}")
        cookie = answer.getheader("Set-Cookie")
        check("; Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie, f"cookie: {cookie}")
        session = cookie.split(";")[0]
        status, who, _ = https_call(https_port, certificate, "GET", "/api/session", cookie=session)
        check(status == 200 and who["username"] == ADMIN, f"session over https: {status} {who}")
        status, _, _ = https_call(https_port, certificate, "POST", "/api/extensions",
                                  {"username": "6001", "password": "Pw-6001-long"}, cookie=session)
        check(status == 403, f"CSRF over https too: {status}")
        status, _, _ = https_call(https_port, certificate, "POST", "/api/extensions",
                                  {"username": "6001", "password": "Pw-6001-long"}, cookie=session,
                                  csrf=body["csrf_token"])
        check(status == 201, f"create over https: {status}")

    def plain_http_still_serves():
        status, _, _, _ = Client(server).call("GET", "/api/session")
        check(status == 401, f"http_addr alongside https_addr: {status}")

    def plaintext_to_the_https_port_is_dropped():
        with socket.create_connection((h.LOOPBACK, https_port), timeout=10) as sock:
            sock.sendall(b"GET /api/session HTTP/1.1\r\nHost: x\r\n\r\n")
            reply = sock.recv(4096)
        check(not reply.startswith(b"HTTP/1.1 200"), f"plain HTTP on the TLS port: {reply[:40]!r}")
        check(server.alive(), "still running")

    def stops_cleanly():
        server.stop()

    return [("login over HTTPS sets a Secure cookie", login_over_https_sets_a_secure_cookie),
            ("plain HTTP still serves", plain_http_still_serves),
            ("plaintext to the HTTPS port is dropped", plaintext_to_the_https_port_is_dropped),
            ("stops cleanly", stops_cleanly)]


def run_https_suite(binary):
    folder = tempfile.mkdtemp(prefix="cppbx-https-")
    try:
        certificate, key = make_certificate(folder)
        https_port = h.free_port()
        extra = (f'https_addr = "{h.LOOPBACK}:{https_port}"\nssl_certificate = "{certificate}"\n'
                 f'ssl_private_key = "{key}"\n')
        return h.run_suite_no_exit(lambda: ApiServer(binary, h.memory_backend_toml([("1001", "pw-1001")]),
                                                     extra_toml=extra),
                                   lambda server: https_cases(server, certificate, https_port))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def register_status(server, name, password):
    client = h.UdpClient(server.port)
    try:
        response = h.SipUser(client, name, password).register(
            [f"<sip:{name}@{h.LOOPBACK}:{client.port}>"], expires=120)
        return response.status if response is not None else None
    finally:
        client.close()


def cases(server, fastapi, receiver, redis):
    admin = Client(server)

    def every_documented_route_needs_a_session():
        stranger = Client(server)
        for method, pattern in documented_routes():
            body = {} if method in ("POST", "PUT", "PATCH") else None
            status, answer, _, _ = stranger.call(method, concrete(pattern), body)
            if pattern == "/api/login":
                check(status in (400, 401), f"login with an empty body: {status}")
                continue
            check(status == 401, f"{method} {pattern} without a session: {status}")
            check(answer == {"error": "login required"}, f"{method} {pattern}: {answer}")
        stranger.cookie = "cppbx_session=" + "0" * 64
        check(stranger.call("GET", "/api/session")[0] == 401, "a made-up session id is refused")
        check(stranger.call("GET", "/api/not-a-route")[0] == 401, "unknown routes do not leak past 401")

    def wrong_password_refused_then_throttled():
        guesser = Client(server, source="127.0.0.2")
        for attempt in range(5):
            status, body, _ = guesser.login("wrong-password")
            check(status == 401, f"wrong password {attempt}: {status} {body}")
        status, body, answer = guesser.login("wrong-password")
        check(status == 429, f"sixth wrong password: {status} {body}")
        retry_after = int(answer.getheader("Retry-After") or 0)
        check(25 <= retry_after <= 30, f"Retry-After {retry_after}")
        status, _, _ = guesser.login()
        check(status == 429, f"even the right password waits while throttled: {status}")
        check(guesser.cookie is None, "no session while throttled")
        status, _, _ = Client(server).login("wrong-password")
        check(status == 401, f"another address is not throttled: {status}")
        check(server.log_text().count("outcome=throttled") >= 2, "throttled attempts are logged")

    def login_sets_a_strict_http_only_cookie():
        status, body, answer = admin.login()
        check(status == 200, f"login: {status} {body}")
        cookie = answer.getheader("Set-Cookie")
        for flag in ("HttpOnly", "SameSite=Strict", "Path=/"):
            check(flag in cookie, f"cookie lacks {flag}: {cookie}")
        check("Secure" not in cookie, f"secure_cookie is false: {cookie}")
        check(re.match(r"cppbx_session=[0-9a-f]{64};", cookie), f"cookie value: {cookie}")
        check(re.fullmatch(r"[0-9a-f]{64}", body["csrf_token"]), f"csrf token: {body}")
        status, who, _, _ = admin.call("GET", "/api/session")
        check(status == 200 and who["username"] == ADMIN and who["csrf_token"] == admin.csrf, f"session: {who}")
        for method, pattern in documented_routes():
            if method == "GET":
                status = admin.call(method, concrete(pattern))[0]
                check(status != 404 or "{username}" in pattern, f"documented {method} {pattern}: {status}")

    def state_changes_need_the_csrf_token():
        extension = {"username": "3001", "password": "Pw-3001-long"}
        status, body, _, _ = admin.call("POST", "/api/extensions", extension, csrf=False)
        check(status == 403, f"POST without X-CSRF-Token: {status} {body}")
        status, body, _, _ = admin.call("POST", "/api/extensions", extension, headers={"X-CSRF-Token": "0" * 64},
                                        csrf=False)
        check(status == 403, f"POST with a wrong token: {status}")
        status, body, _, _ = admin.call("POST", "/api/extensions", raw_body=b"username=3001",
                                        headers={"Content-Type": "application/x-www-form-urlencoded"})
        check(status == 415, f"form body: {status}")
        status, body, _, _ = admin.call("POST", "/api/extensions", extension)
        check(status == 201, f"POST with the token: {status} {body}")
        check(body["password"] == MASK, f"password masked: {body}")
        check(admin.call("DELETE", "/api/extensions/3001", csrf=False)[0] == 403, "DELETE without token")
        check(admin.call("DELETE", "/api/extensions/3001")[0] == 200, "DELETE with token")

    def extension_crud_and_register():
        status, generated, _, _ = admin.call("POST", "/api/extensions/generate-password")
        password = generated["password"]
        check(status == 200 and len(password) >= 20 and password.isalnum(), f"generated: {generated}")
        status, body, _, _ = admin.call("POST", "/api/extensions",
                                        {"username": "2001", "password": password, "display_name": "Bob Builder",
                                         "email": "bob@example.com"})
        check(status == 201, f"create: {status} {body}")
        check(admin.call("POST", "/api/extensions", {"username": "2001", "password": password})[0] == 409,
              "duplicate is 409")
        check(admin.call("POST", "/api/extensions", {"username": "bad name", "password": password})[0] == 400,
              "bad name is 400")
        admin.call("POST", "/api/extensions", {"username": "2002", "password": "Other-pass-1", "display_name": "Ann"})
        status, listed, _, _ = admin.call("GET", "/api/extensions?search=BUILD&page=1&per_page=10")
        check(status == 200 and listed["total"] == 1 and listed["items"][0]["username"] == "2001", f"search: {listed}")
        status, listed, _, _ = admin.call("GET", "/api/extensions?per_page=1&page=2")
        check(listed["total"] == 2 and [i["username"] for i in listed["items"]] == ["2002"], f"paging: {listed}")
        check(password not in json.dumps(listed), "no password in the list")
        check(register_status(server, "2001", password) == 200, "REGISTER with the created extension")
        status, body, _, _ = admin.call("PUT", "/api/extensions/2001", {"display_name": "Bob B.", "password": MASK})
        check(status == 200 and body["display_name"] == "Bob B." and body["email"] == "bob@example.com", f"PUT: {body}")
        check(register_status(server, "2001", password) == 200, "masked password in PUT keeps the password")
        status, body, _, _ = admin.call("POST", "/api/extensions/2001/disable")
        check(status == 200 and body["enabled"] is False, f"disable: {body}")
        status = register_status(server, "2001", password)
        check(status is not None and status != 200, f"disabled extension refused at once (ttl 60 s): {status}")
        admin.call("POST", "/api/extensions/2001/enable")
        check(register_status(server, "2001", password) == 200, "enabled again at once")
        admin.call("PUT", "/api/extensions/2001", {"password": "New-pass-2001"})
        check(register_status(server, "2001", "New-pass-2001") == 200, "new password works at once")
        check(admin.call("DELETE", "/api/extensions/2001")[0] == 200, "delete")
        check(admin.call("GET", "/api/extensions/2001")[0] == 404, "gone after delete")
        check(admin.call("DELETE", "/api/extensions/2001")[0] == 404, "delete twice is 404")

    def settings_come_back_masked():
        status, settings, _, text = admin.call("GET", "/api/settings/proxy")
        check(status == 200, f"settings: {status}")
        for secret in (HTTP_BACKEND_SECRET, WEBHOOK_SECRET, DB_PASSWORD):
            check(secret not in text, f"secret {secret!r} in the settings")
        backends = settings["user_backends"]
        check([b["type"] for b in backends] == ["extension", "http", "extension"], f"order: {backends}")
        check(backends[1]["headers"]["Authorization"] == MASK, f"http headers: {backends[1]}")
        check(backends[2]["database_url"] == f"postgres://cppbx:{MASK}@127.0.0.1:1/pbx", f"db url: {backends[2]}")
        webhook = settings["locator_webhook"]
        check(webhook["headers"] == {"Authorization": MASK, "X-Trace": "trace-1"}, f"webhook headers: {webhook}")
        check(settings["realms"] == [h.LOOPBACK] and settings["locator"]["type"] == "memory", f"{settings}")

    def user_backend_test_finds_through_the_http_service():
        status, settings, _, _ = admin.call("GET", "/api/settings/proxy")
        backend = settings["user_backends"][1]  # masked Authorization goes back as is
        status, result, _, text = admin.call("POST", "/api/settings/test/user-backend",
                                             {"backend": backend, "username": "1001", "realm": h.LOOPBACK})
        check(status == 200 and result["outcome"] == "found", f"test: {status} {result}")
        check(result["fields"]["password"] == MASK and result["fields"]["display_name"] == "Alice Cooper",
              f"fields: {result}")
        check(0 < result["latency_ms"] < 5000, f"latency: {result}")
        check("secret-password" not in text, "the user's password is not returned")
        status, result, _, _ = admin.call("POST", "/api/settings/test/user-backend",
                                          {"backend": backend, "username": "nobody", "realm": h.LOOPBACK})
        check(result["outcome"] == "not_found", f"unknown user: {result}")
        status, result, _, _ = admin.call("POST", "/api/settings/test/user-backend",
                                          {"backend": backend, "username": "1002", "realm": h.LOOPBACK})
        check(result["outcome"] == "denied" and result["sip_code"] == 402, f"payment required: {result}")
        moved = dict(backend, url="http://127.0.0.1:1/steal")
        status, result, _, _ = admin.call("POST", "/api/settings/test/user-backend",
                                          {"backend": moved, "username": "1001"})
        check(status == 400, f"a masked secret is not lent to another url: {status} {result}")
        status, result, _, _ = admin.call("POST", "/api/settings/test/user-backend",
                                          {"backend": {"type": "http", "url": "ftp://x"}, "username": "1001"})
        check(status == 200 and result["outcome"] == "error" and "url" in result["detail"], f"bad entry: {result}")

    def plain_backend_test_lists_bad_lines():
        server.write_file("users.txt", "# users\n1001:pw1\nbroken line\n:nopass\n1002:pw2\n")
        status, result, _, _ = admin.call("POST", "/api/settings/test/user-backend",
                                          {"backend": {"type": "plain", "path": server.path("users.txt")},
                                           "username": "1002"})
        check(status == 200 and result["outcome"] == "found", f"plain: {result}")
        check([line["line"] for line in result["bad_lines"]] == [3, 4], f"bad lines: {result['bad_lines']}")

    def database_backend_test_queries_a_real_database():
        path = server.path("accounts.sqlite3")
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE accounts (login TEXT, secret TEXT, full_name TEXT)")
            db.execute("INSERT INTO accounts VALUES ('4001', 'db-user-pass', 'Dora Database')")
        backend = {"type": "database", "url": f"sqlite://{path}", "table_name": "accounts",
                   "username_column": "login", "password_column": "secret", "display_name_column": "full_name"}
        status, result, _, text = admin.call("POST", "/api/settings/test/user-backend",
                                             {"backend": backend, "username": "4001", "realm": h.LOOPBACK})
        check(status == 200 and result["outcome"] == "found", f"database test: {result}")
        check(result["fields"]["display_name"] == "Dora Database" and result["fields"]["password"] == MASK,
              f"fields: {result}")
        check("db-user-pass" not in text, "the user's password is not returned")
        status, result, _, _ = admin.call("POST", "/api/settings/test/user-backend",
                                          {"backend": dict(backend, table_name="missing"), "username": "4001"})
        check(result["outcome"] == "error", f"a missing table is an error: {result}")

    def locator_test_round_trips():
        status, result, _, _ = admin.call("POST", "/api/settings/test/locator", {"locator": {"type": "memory"}})
        check(status == 200 and result["outcome"] == "ok" and result["aor"].startswith("sip:cppbx-test-"),
              f"memory locator: {result}")
        status, result, _, _ = admin.call("POST", "/api/settings/test/locator",
                                          {"locator": {"type": "redis", "url": "redis://127.0.0.1:1",
                                                       "timeout_ms": 500}})
        check(status == 200 and result["outcome"] == "error", f"unreachable redis: {result}")
        if redis is None:
            print("  (no redis-server: the real Redis locator Test is skipped)")
            return
        status, result, _, text = admin.call("POST", "/api/settings/test/locator",
                                             {"locator": {"type": "redis", "url": redis.url}})
        check(status == 200 and result["outcome"] == "ok", f"real redis: {result}")
        check(redis.password not in text, "the redis password is not echoed")
        wrong = redis.url.replace(redis.password, "wrong-password")
        status, result, _, text = admin.call("POST", "/api/settings/test/locator",
                                             {"locator": {"type": "redis", "url": wrong, "timeout_ms": 1000}})
        check(status == 200 and result["outcome"] == "error", f"wrong redis password: {result}")
        check(redis.password not in text and "wrong-password" not in text, f"no password in the answer: {text}")

    def webhook_test_posts_a_sample_event():
        receiver.call("/_reset", {})
        status, settings, _, _ = admin.call("GET", "/api/settings/proxy")
        webhook = settings["locator_webhook"]
        status, result, _, _ = admin.call("POST", "/api/settings/test/webhook",
                                          {"url": webhook["url"], "headers": webhook["headers"], "timeout_ms": 3000})
        check(status == 200 and result["status"] == 200, f"webhook test: {status} {result}")
        check(result["body_start"].startswith('{"status": "as asked"}'), f"body start: {result}")
        check(0 < result["latency_ms"] < 3000, f"latency: {result}")
        seen = [r for r in receiver.call("/_requests")["requests"] if "webhook-test" in r["body"]]
        check(len(seen) == 1, f"receiver saw {len(seen)} test events")
        event = json.loads(seen[0]["body"])
        check(event["event"] == "registered" and set(event["location"]) >= {"aor", "expires", "destination",
                                                                           "transport", "user_agent"},
              f"payload: {event}")
        check(seen[0]["headers"].get("Authorization") == WEBHOOK_SECRET, "configured secret used for the mask")
        check(seen[0]["headers"].get("X-Trace") == "trace-1", f"headers: {seen[0]['headers']}")

    def dashboard_counts_bindings():
        admin.call("POST", "/api/extensions", {"username": "2101", "password": "Pw-2101-long"})
        check(register_status(server, "2101", "Pw-2101-long") == 200, "register 2101")
        status, board, _, _ = admin.call("GET", "/api/dashboard")
        check(status == 200 and board["registrations"]["bindings"] >= 1, f"dashboard: {board}")
        check(board["user_backends"] == ["extension", "http", "extension"] and board["uptime_seconds"] >= 0,
              f"dashboard: {board}")
        check(board["webhook"] is not None and "sent" in board["webhook"], f"webhook counters: {board}")

    def logout_ends_the_session():
        other = Client(server)
        check(other.login()[0] == 200, "second login")
        check(other.call("POST", "/api/logout", csrf=False)[0] == 403, "logout needs the token")
        status, _, answer, _ = other.call("POST", "/api/logout")
        check(status == 200 and "Max-Age=0" in answer.getheader("Set-Cookie"), "logout clears the cookie")
        check(other.call("GET", "/api/session")[0] == 401, "session gone after logout")
        check(admin.call("GET", "/api/session")[0] == 200, "other sessions stay")

    def settings_follow_a_reload():
        with open(server.path("cppbx.toml")) as handle:
            text = handle.read()
        server.write_file("cppbx.toml", text + "\n" + h.memory_backend_toml([("5001", "mem-s3cret")]) + "\n")
        server.reload()

        def types():
            return [b["type"] for b in admin.call("GET", "/api/settings/proxy")[1]["user_backends"]]
        check(h.poll(lambda: types() == ["extension", "http", "extension", "memory"], 5), f"after SIGHUP: {types()}")
        status, settings, _, text = admin.call("GET", "/api/settings/proxy")
        check("mem-s3cret" not in text and settings["user_backends"][3]["users"][0]["password"] == MASK,
              "the new backend's password is masked")
        status, result, _, _ = admin.call("POST", "/api/settings/test/user-backend",
                                          {"backend": settings["user_backends"][3], "username": "5001"})
        check(result["outcome"] == "found", f"masked password restored from the reloaded config: {result}")
        check(register_status(server, "5001", "mem-s3cret") == 200, "the reloaded chain serves SIP")

    def no_admin_password_in_the_log():
        log = server.log_text()
        check(ADMIN_PASSWORD not in log, "the administrator password is in the log")
        for secret in (HTTP_BACKEND_SECRET, WEBHOOK_SECRET, DB_PASSWORD, "wrong-password", "mem-s3cret"):
            check(secret not in log, f"{secret!r} in the log")
        check(f"login user={ADMIN} from=127.0.0.1 outcome=accepted" in log, "accepted login logged")
        check(f"login user={ADMIN} from=127.0.0.2 outcome=refused" in log, "refused login logged")

    def malformed_and_oversized_requests():
        def raw(data):
            with socket.create_connection((h.LOOPBACK, server.http_port), timeout=10) as sock:
                sock.sendall(data)
                return sock.recv(4096).decode("latin-1")
        check(raw(b"NONSENSE\r\n\r\n").startswith("HTTP/1.1 400"), "malformed request line")
        big = b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 300000\r\n\r\n"
        check(raw(big).startswith("HTTP/1.1 413"), "body over the limit")
        status, body, _, _ = Client(server).call("POST", "/api/login", raw_body=b"{not json",
                                                 headers={"Content-Type": "application/json"})
        check(status == 400, f"broken JSON: {status} {body}")
        check(server.alive(), "cppbx survived")

    def stops_promptly_with_tests_in_flight():
        slow_backend = {"type": "http", "url": receiver.url("/slow/8000"), "method": "POST", "timeout_ms": 9000}
        results = []

        def run(path, body):
            try:
                results.append(admin.call("POST", path, body)[0])
            except OSError as error:  # the connection closed by the stopping server
                results.append(type(error).__name__)
        threads = [threading.Thread(target=run, args=("/api/settings/test/user-backend",
                                                      {"backend": slow_backend, "username": "1001"})),
                   threading.Thread(target=run, args=("/api/settings/test/webhook",
                                                      {"url": receiver.url("/slow/8000"), "timeout_ms": 9000}))]
        for thread in threads:
            thread.start()
        h.poll(lambda: len([r for r in receiver.call("/_requests")["requests"] if "/slow/" in r["path"]]) >= 2, 5)
        started = time.monotonic()
        server.stop(timeout=5.0)
        check(time.monotonic() - started < 5.0, "stop took too long")
        for thread in threads:
            thread.join(timeout=10)
        check(len(results) == 2, f"both clients got an end: {results}")

    return [
        ("every documented route needs a session", every_documented_route_needs_a_session),
        ("wrong password refused, then throttled", wrong_password_refused_then_throttled),
        ("login sets a strict HttpOnly cookie", login_sets_a_strict_http_only_cookie),
        ("state changes need the CSRF token", state_changes_need_the_csrf_token),
        ("extensions CRUD and REGISTER", extension_crud_and_register),
        ("settings come back masked", settings_come_back_masked),
        ("user backend Test through the http service", user_backend_test_finds_through_the_http_service),
        ("plain backend Test lists bad lines", plain_backend_test_lists_bad_lines),
        ("database backend Test queries a real database", database_backend_test_queries_a_real_database),
        ("locator Test round-trips", locator_test_round_trips),
        ("webhook Test posts a sample event", webhook_test_posts_a_sample_event),
        ("dashboard counts bindings", dashboard_counts_bindings),
        ("logout ends the session", logout_ends_the_session),
        ("settings follow a SIGHUP reload", settings_follow_a_reload),
        ("no admin password in the log", no_admin_password_in_the_log),
        ("malformed and oversized requests", malformed_and_oversized_requests),
        ("stops promptly with Tests in flight", stops_promptly_with_tests_in_flight),
    ]


def main():
    binary = h.binary_from_argv()
    fastapi = Service("fastapi_example.py")
    receiver = Service("recorder_service.py")
    try:
        backends = "\n".join([
            "[[proxy.user_backends]]", 'type = "extension"', "ttl = 60", "",
            "[[proxy.user_backends]]", 'type = "http"', f'url = "{fastapi.url("/verify")}"', 'method = "POST"',
            f'headers = {{ Authorization = "{HTTP_BACKEND_SECRET}" }}', "",
            "[[proxy.user_backends]]", 'type = "extension"',
            f'database_url = "postgres://cppbx:{DB_PASSWORD}@127.0.0.1:1/pbx"', "timeout_ms = 500", "",
            "[proxy.locator_webhook]", f'url = "{receiver.url("/status/200")}"',
            f'headers = {{ Authorization = "{WEBHOOK_SECRET}", X-Trace = "trace-1" }}', "",
        ])
        with contextlib.ExitStack() as stack:
            redis = None
            if redis_server.RedisServer.available():
                redis = stack.enter_context(redis_server.RedisServer(password="redis-s3cret"))
            failed = h.run_suite_no_exit(
                lambda: ApiServer(binary, backends, extra_toml="[console]\nsecure_cookie = false\n"),
                lambda server: cases(server, fastapi, receiver, redis))
    finally:
        fastapi.stop()
        receiver.stop()
    print("-- https_addr --", flush=True)
    failed = run_https_suite(binary) or failed
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
