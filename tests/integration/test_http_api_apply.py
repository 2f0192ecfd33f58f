"""Settings > Proxy Settings, Apply (PUT /api/settings/proxy) against a real cppbx.

cppbx starts with an administrator, a memory user A (2001) and a locator
webhook whose Authorization header is a secret. The test then, without any
restart:
- sends invalid settings: 400 with the JSON path of each field at fault, and
  nothing written or changed;
- puts an http user backend first (the FastAPI example service, which alone
  knows user B, 1001) and sends the webhook back masked: B registers, A is
  still reachable (B's INVITE reaches A's phone), the settings file exists
  with mode 0600, the main file's bytes are unchanged, and B's registration
  reaches the webhook with the real secret header (the mask kept it);
- switches the locator from memory to database (SQLite in the temp folder)
  while a call from B to A is up: the answer counts the bindings carried
  over, the call's BYE still goes through, and A is still reachable;
- refuses a locator that does not answer (nothing written or changed);
- changes the webhook's url: a masked secret does not follow it (400), sent
  again it does; the next event reaches the new url, the dashboard shows the
  new webhook's counters and the running chain's health;
- restarts cppbx: the settings file is loaded (B registers again through the
  http backend, the database locator is in use);
- breaks the settings file: --check-config and the start refuse it, naming
  proxy_settings.toml:line:col.
A second cppbx gets SIGTERM while an Apply is held by a paused Redis: the
Apply completes during the shutdown and cppbx exits 0.
Stdlib only.
"""

import copy
import json
import os
import re
import stat
import subprocess
import sys
import threading
import time

import harness as h
import redis_server
from harness import check, describe
from phone import Phone
from services import Service
from test_http_api import ApiServer, Client

USER_A = ("2001", "pw-2001-a")
USER_B = ("1001", "secret-password")  # known to fastapi_example.py only
WEBHOOK_SECRET = "Bearer apply-hook-s3cret"
MASK = "********"


def wait_for_invite(callee, caller_phone):
    """B calls A; True when the INVITE reaches A's phone (A answers 486)."""
    call_id, _, _, _ = caller_phone.invite(callee.username, wait_final=False)
    invite = callee.request_arrives("INVITE", timeout=5, call_id=call_id)
    if invite is None:
        return False
    callee.answer_invite(invite, status=486, ringing=False)
    final = caller_phone.response_arrives(call_id, "INVITE", timeout=5)
    return final is not None and final.status == 486


def answered_call(caller, callee):
    """caller calls callee, who answers 200; the caller ACKs. Returns the caller's dialog."""
    call_id, _, from_tag, cseq = caller.invite(callee.username, wait_final=False)
    invite = callee.request_arrives("INVITE", timeout=5, call_id=call_id)
    check(invite is not None, "the INVITE did not reach the callee")
    callee.answer_invite(invite)
    ok = caller.response_arrives(call_id, "INVITE")
    check(ok is not None and ok.status == 200, f"call not answered: {describe(ok)}")
    dialog = caller.caller_dialog(ok, from_tag, cseq)
    caller.in_dialog(dialog, "ACK", invite_cseq=cseq)
    check(callee.request_arrives("ACK", call_id=call_id) is not None, "the callee got no ACK")
    return dialog


def hang_up(caller, callee, dialog):
    caller.in_dialog(dialog, "BYE")
    bye = callee.request_arrives("BYE", call_id=dialog.call_id)
    check(bye is not None, "the BYE did not reach the callee")
    callee.respond(bye, 200)
    ok = caller.response_arrives(dialog.call_id, "BYE")
    check(ok is not None and ok.status == 200, f"BYE answered {describe(ok)}")


def cases(server, fastapi, receiver, state):
    admin = Client(server)
    phones = {}

    def read_main():
        with open(server.path("cppbx.toml"), "rb") as handle:
            return handle.read()

    def overlay_path():
        return server.path(os.path.join("config", "proxy_settings.toml"))

    def put(settings, csrf=True):
        status, body, _, text = admin.call("PUT", "/api/settings/proxy", settings, csrf=csrf)
        return status, body, text

    def get_settings():
        status, body, _, _ = admin.call("GET", "/api/settings/proxy")
        check(status == 200, f"GET settings: {status} {body}")
        return body

    def setup():
        status, body, _ = admin.login()
        check(status == 200, f"login: {status} {body}")
        state["main_bytes"] = read_main()
        phones["a"] = Phone(server, *USER_A, tag="a")
        phones["a"].register()

    def invalid_settings_change_nothing():
        before = get_settings()
        check(before["locator_webhook"]["headers"]["Authorization"] == MASK, f"webhook header not masked: {before}")
        bad = copy.deepcopy(before)
        bad["user_backends"].insert(0, {"type": "http", "url": "ftp://127.0.0.1/verify"})
        bad["locator_webhook"]["timeout_ms"] = 0
        status, body, _ = put(bad)
        check(status == 400 and body["error"] == "invalid settings", f"invalid: {status} {body}")
        paths = [p["path"] for p in body["problems"]]
        # The memory backend moved to index 1: its masked password matches no
        # running backend at that position and type (the documented rule).
        check("locator_webhook.timeout_ms" in paths and "user_backends.1" in paths, f"problem paths: {paths}")
        check(all(p["message"] for p in body["problems"]), f"every problem explained: {body}")
        status, body, _ = put({**before, "user_backends": [{"type": "http"}]})
        check(status == 400, f"http backend without url: {status} {body}")
        check(any(p["path"].startswith("user_backends.0") for p in body["problems"]), f"paths: {body['problems']}")
        status, body, _ = put({**before, "realms": "not-a-list"})
        check(status == 400 and [p["path"] for p in body["problems"]] == ["realms"], f"realms: {status} {body}")
        status, body, _ = put({key: value for key, value in before.items() if key != "locator"})
        check(status == 400 and body["problems"][0]["path"] == "locator", f"missing locator: {status} {body}")
        status, _, _ = put(before, csrf=False)
        check(status == 403, f"PUT without the CSRF token: {status}")
        check(not os.path.exists(overlay_path()), "nothing written for invalid settings")
        check(get_settings() == before, "settings unchanged")
        check(register_status(*USER_B) != 200, "B is unknown before the apply")

    def http_backend_first_applies_live():
        before = get_settings()
        settings = copy.deepcopy(before)
        settings["user_backends"].insert(0, {"type": "http", "url": fastapi.url("/verify"), "method": "POST"})
        # Moved to another position: its secret is sent again, as the rule asks.
        settings["user_backends"][1]["users"][0]["password"] = USER_A[1]
        status, body, text = put(settings)
        check(status == 200 and body["applied"] is True, f"apply: {status} {body}")
        check(body["restart_required"] == [], f"restart_required: {body}")
        check(os.path.realpath(body["file"]) == os.path.realpath(overlay_path()), f"file: {body['file']}")
        check(WEBHOOK_SECRET not in text and USER_A[1] not in text, "the answer masks secrets")
        check([b["type"] for b in body["settings"]["user_backends"]] == ["http", "memory"], f"{body['settings']}")
        check(get_settings() == body["settings"], "GET shows what was applied")
        mode = stat.S_IMODE(os.stat(overlay_path()).st_mode)
        check(mode == 0o600, f"settings file mode {oct(mode)}")
        with open(overlay_path()) as handle:
            saved = handle.read()
        check(WEBHOOK_SECRET in saved, "the masked webhook header was saved with the running secret")
        check(MASK not in saved, "no mask saved as a value")
        check(read_main() == state["main_bytes"], "the main config file is never written")

    def b_registers_and_a_is_still_reachable():
        receiver.call("/_reset")
        phones["b"] = Phone(server, *USER_B, tag="b")
        phones["b"].register()
        check(wait_for_invite(phones["a"], phones["b"]), "B's INVITE did not reach A after the apply")

    def webhook_kept_its_secret_header():
        def registered_for_b():
            for request in receiver.call("/_requests")["requests"]:
                body = json.loads(request["body"] or "{}")
                if body.get("event") == "registered" and USER_B[0] in request["body"]:
                    return request
            return None
        check(h.poll(lambda: registered_for_b() is not None, 10), "no registered event for B at the webhook")
        headers = {k.lower(): v for k, v in registered_for_b()["headers"].items()}
        check(headers.get("authorization") == WEBHOOK_SECRET, f"webhook header after apply: {headers}")

    def locator_change_carries_bindings():
        call = answered_call(phones["b"], phones["a"])
        settings = get_settings()
        settings["locator"] = {"type": "database", "url": f"sqlite://{server.path('locator.sqlite3')}"}
        status, body, _ = put(settings)
        check(status == 200, f"apply locator: {status} {body}")
        check(body["locator_bindings_carried"] >= 2, f"bindings carried: {body}")
        check(body["settings"]["locator"]["type"] == "database", f"{body['settings']['locator']}")
        check(os.path.exists(server.path("locator.sqlite3")), "the database locator's file")
        hang_up(phones["b"], phones["a"], call)  # the call set up before the Apply survived it
        check(wait_for_invite(phones["a"], phones["b"]), "A not reachable after the locator change")
        state["carried"] = body["locator_bindings_carried"]

    def unreachable_locator_is_refused():
        settings = get_settings()
        bad = copy.deepcopy(settings)
        bad["locator"] = {"type": "redis", "url": "redis://127.0.0.1:1", "timeout_ms": 300}
        with open(overlay_path(), "rb") as handle:
            saved = handle.read()
        status, body, _ = put(bad)
        check(status == 400 and body["problems"][0]["path"] == "locator", f"unreachable locator: {status} {body}")
        with open(overlay_path(), "rb") as handle:
            check(handle.read() == saved, "settings file unchanged")
        check(get_settings()["locator"]["type"] == "database", "locator unchanged")
        check(wait_for_invite(phones["a"], phones["b"]), "A not reachable after the refused change")

    def webhook_change_goes_live_and_the_dashboard_follows():
        status, before, _, _ = admin.call("GET", "/api/dashboard")
        check(status == 200 and before["webhook"]["sent"] >= 1, f"dashboard before: {before}")
        health = before.get("user_backend_health")
        check(health is not None and [b["type"] for b in health] == ["http", "memory"], f"backend health: {health}")
        settings = get_settings()
        settings["locator_webhook"]["url"] = receiver.url("/hook2")
        settings["locator_webhook"]["headers"]["X-Extra"] = "extra-1"
        # A masked secret never follows the webhook to another url.
        status, body, _ = put(settings)
        check(status == 400 and [p["path"] for p in body["problems"]] == ["locator_webhook"],
              f"masked secret for a new url: {status} {body}")
        settings["locator_webhook"]["headers"]["Authorization"] = WEBHOOK_SECRET
        status, body, _ = put(settings)
        check(status == 200, f"apply webhook: {status} {body}")
        status, after, _, _ = admin.call("GET", "/api/dashboard")
        check(after["webhook"]["sent"] == 0, f"the dashboard shows the new webhook's counters: {after['webhook']}")
        receiver.call("/_reset")
        phones["b"].register()

        def at_hook2():
            return [r for r in receiver.call("/_requests")["requests"] if r["path"] == "/hook2"]
        check(h.poll(lambda: at_hook2(), 10), "no event at the new webhook url")
        headers = {k.lower(): v for k, v in at_hook2()[0]["headers"].items()}
        check(headers.get("authorization") == WEBHOOK_SECRET and headers.get("x-extra") == "extra-1",
              f"new webhook's headers: {headers}")

    def restart_loads_the_settings_file():
        for phone in phones.values():
            phone.close()
        server.stop()
        h.CppbxServer.start(server)  # same folder, same files; the administrator exists
        check(register_status(*USER_B) == 200, "B (http backend from the settings file) after restart")
        again = Client(server)
        status, _, _ = again.login()
        check(status == 200, "login after restart")
        status, body, _, _ = again.call("GET", "/api/settings/proxy")
        check(body["locator"]["type"] == "database" and body["user_backends"][0]["type"] == "http",
              f"settings after restart: {body}")
        check("proxy_settings.toml:" not in server.log_text(), "no diagnostic about the settings file")

    def broken_settings_file_refuses_the_start():
        server.stop()
        with open(overlay_path(), "a") as handle:
            handle.write("\n[proxy.locator_webhook]\ntimeout_ms = 0\n")
        done = subprocess.run([server.binary, "--conf", server.path("cppbx.toml"), "--check-config"],
                              capture_output=True, text=True, cwd=server.dir, timeout=60)
        check(done.returncode == 1, f"--check-config: {done.returncode} {done.stdout} {done.stderr}")
        check(re.search(r"proxy_settings\.toml:\d+:\d+: error: ", done.stderr), f"names the file: {done.stderr}")
        done = subprocess.run([server.binary, "--conf", server.path("cppbx.toml")],
                              capture_output=True, text=True, cwd=server.dir, timeout=60)
        check(done.returncode == 1 and "proxy_settings.toml" in done.stderr, f"start: {done.returncode} {done.stderr}")
        check(WEBHOOK_SECRET not in done.stderr, "no secret in the diagnostics")

    def register_status(name, password):
        client = h.UdpClient(server.port)
        try:
            response = h.SipUser(client, name, password).register(
                [f"<sip:{name}-x@{h.LOOPBACK}:{client.port}>"], expires=120)
            return response.status if response is not None else None
        finally:
            client.close()

    return [
        ("set up: login, A registers", setup),
        ("invalid settings: 400 with field paths, nothing changed", invalid_settings_change_nothing),
        ("http backend first, applied live and saved 0600", http_backend_first_applies_live),
        ("B registers without restart, A still reachable", b_registers_and_a_is_still_reachable),
        ("masked webhook header kept", webhook_kept_its_secret_header),
        ("locator memory -> database carries bindings, a call in progress survives", locator_change_carries_bindings),
        ("unreachable locator refused, nothing changed", unreachable_locator_is_refused),
        ("webhook change goes live, dashboard follows", webhook_change_goes_live_and_the_dashboard_follows),
        ("restart loads the settings file", restart_loads_the_settings_file),
        ("a broken settings file refuses the start, naming it", broken_settings_file_refuses_the_start),
    ]


def shutdown_cases(server, redis):
    """SIGTERM while an Apply is in flight: the Apply runs on the API's own
    thread and ends by publishing the running settings to the API that
    shutdown is taking away. Redis paused for 2.5 s holds the Apply (a
    change to a redis locator) long enough for the SIGTERM to land in it,
    and then lets it succeed."""
    admin = Client(server)
    outcome = {}

    def apply_redis_locator():
        settings = admin.call("GET", "/api/settings/proxy")[1]
        settings["locator"] = {"type": "redis", "url": redis.url, "timeout_ms": 8000}
        try:
            outcome["status"] = admin.call("PUT", "/api/settings/proxy", settings)[0]
        except OSError as error:  # the API went away before answering: also an end
            outcome["status"] = repr(error)

    def sigterm_during_an_apply_exits_cleanly():
        status, body, _ = admin.login()
        check(status == 200, f"login: {status} {body}")
        redis.command("CLIENT", "PAUSE", "2500", "ALL")
        applying = threading.Thread(target=apply_redis_locator)
        applying.start()
        try:
            time.sleep(0.5)
            check(applying.is_alive(), f"the Apply did not wait for the paused Redis: {outcome}")
            server.stop(timeout=20.0)  # exit code 0 (ASan builds: no use after free)
        finally:
            applying.join(timeout=30)
        check("status" in outcome, "the PUT never returned")
        check("settings applied:" in server.log_text(), "the Apply did not complete during the shutdown")

    return [("SIGTERM while an Apply is in flight: clean exit", sigterm_during_an_apply_exits_cleanly)]


def main():
    binary = h.binary_from_argv()
    fastapi = Service("fastapi_example.py")
    receiver = Service("recorder_service.py")
    try:
        backends = "\n".join([
            h.memory_backend_toml([USER_A]), "",
            "[proxy.locator_webhook]", f'url = "{receiver.url("/hook")}"',
            f'headers = {{ Authorization = "{WEBHOOK_SECRET}" }}', "",
        ])
        state = {}
        failed = h.run_suite_no_exit(lambda: ApiServer(binary, backends),
                                     lambda server: cases(server, fastapi, receiver, state))
        if redis_server.RedisServer.available():
            with redis_server.RedisServer() as redis:
                failed = h.run_suite_no_exit(lambda: ApiServer(binary, h.memory_backend_toml([USER_A])),
                                             lambda server: shutdown_cases(server, redis)) or failed
        else:
            print(f"SKIP SIGTERM during an Apply: {redis_server.RedisServer.missing_message()}")
        sys.exit(1 if failed else 0)
    finally:
        fastapi.stop()
        receiver.stop()


if __name__ == "__main__":
    main()
