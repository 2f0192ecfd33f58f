"""The registrations routes of the HTTP API (docs/http-api.md) against a real
cppbx: two phones register over UDP with digest auth, the administrator
lists them (all, filtered by user, paged), removes one, and then a
REGISTER query (SIP), the listing and the dashboard all show it gone while a
webhook receiver run by the test got `unregistered` for it. Also: 401
without a session, 403 without the CSRF token, 404 for a binding that is
not there. Reuses test_http_api's server (administrator created first) and
client. Run once per locator type: memory, database (the server's SQLite
file), http (the registry service of the locator tests) and, when
redis-server is installed, redis. Stdlib only.
"""

import contextlib
import json

import harness as h
from harness import check
import redis_server
from services import Service
from test_http_api import ADMIN, ApiServer, Client

USERS = [("1001", "Pw-1001-long"), ("1002", "Pw-1002-long")]


def aor_of(name):
    return f"sip:{name}@{h.LOOPBACK}"


def cases(server, receiver, locator_type):
    admin = Client(server)
    phones = {}  # name -> (UdpClient, SipUser)

    def registrations(query=""):
        status, body, _, _ = admin.call("GET", "/api/registrations" + query)
        check(status == 200, f"GET /api/registrations{query}: {status} {body}")
        return body

    def events(kind):
        found = []
        for record in receiver.call("/_requests")["requests"]:
            event = json.loads(record["body"] or "{}")
            if event.get("event") == kind:
                found.append(event)
        return found

    def two_phones_register():
        check(admin.login()[0] == 200, "admin login")
        for name, password in USERS:
            client = h.UdpClient(server.port)
            user = h.SipUser(client, name, password)
            response = user.register([user.contact()], expires=300)
            check(response is not None and response.status == 200, f"register {name}: {h.describe(response)}")
            phones[name] = (client, user)

    def both_are_listed():
        body = registrations()
        check(body["total"] == 2 and body["page"] == 1 and body["per_page"] == 50, f"page: {body}")
        check(body["locator"] == locator_type, f"locator: {body}")
        check([item["aor"] for item in body["items"]] == [aor_of("1001"), aor_of("1002")], f"order: {body}")
        first = body["items"][0]
        client, user = phones["1001"]
        check(first["contact"] == f"sip:1001-a@{h.LOOPBACK}:{client.port}", f"contact: {first}")
        check(first["key"] == first["contact"], f"key: {first}")
        check(first["transport"] == "udp" and first["destination"] == f"udp:{h.LOOPBACK}:{client.port}",
              f"transport/destination: {first}")
        check(250 < first["expires_in"] <= 300, f"expires_in: {first}")
        check(first["supports_webrtc"] is False and "node" in first and "user_agent" in first, f"fields: {first}")

    def filtered_and_paged():
        only = registrations("?user=1002")
        check(only["total"] == 1 and [i["aor"] for i in only["items"]] == [aor_of("1002")], f"filter: {only}")
        second = registrations("?per_page=1&page=2")
        check(second["total"] == 2 and [i["aor"] for i in second["items"]] == [aor_of("1002")], f"page 2: {second}")
        check(admin.call("GET", "/api/registrations?per_page=0")[0] == 400, "per_page=0 refused")

    def session_and_csrf_are_required():
        stranger = Client(server)
        check(stranger.call("GET", "/api/registrations")[0] == 401, "list without a session")
        body = {"aor": aor_of("1002"), "key": registrations("?user=1002")["items"][0]["key"]}
        check(stranger.call("POST", "/api/registrations/remove", body)[0] == 401, "remove without a session")
        status = admin.call("POST", "/api/registrations/remove", body, csrf=False)[0]
        check(status == 403, f"remove without the CSRF token: {status}")
        check(registrations()["total"] == 2, "nothing removed by refused requests")

    def dashboard_counts_them():
        status, board, _, _ = admin.call("GET", "/api/dashboard")
        check(status == 200 and board["registrations"]["bindings"] == 2 and board["registrations"]["users"] == 2,
              f"dashboard: {board}")

    def removal_is_seen_everywhere():
        receiver.call("/_reset", {})
        key = registrations("?user=1001")["items"][0]["key"]
        status, body, _, _ = admin.call("POST", "/api/registrations/remove", {"aor": aor_of("1001"), "key": key})
        check(status == 200 and body == {"removed": True, "aor": aor_of("1001"), "key": key}, f"remove: {status} {body}")
        left = registrations()
        check([i["aor"] for i in left["items"]] == [aor_of("1002")] and left["total"] == 1, f"after removal: {left}")
        check(phones["1001"][1].query() == [], "a REGISTER query of 1001 finds no binding")
        check(len(phones["1002"][1].query()) == 1, "1002 is still registered")
        unregistered = h.poll(lambda: events("unregistered"), 10)
        check(len(unregistered) == 1 and unregistered[0]["location"]["aor"] == aor_of("1001"),
              f"webhook events: {unregistered}")
        status, board, _, _ = admin.call("GET", "/api/dashboard")
        check(board["registrations"]["bindings"] == 1 and board["registrations"]["users"] == 1, f"dashboard: {board}")
        check(h.poll(lambda: f"admin '{ADMIN}' removed the registration of {aor_of('1001')}" in server.log_text(), 5),
              "the removal is logged with the admin's name")

    def removing_again_is_not_found():
        key = f"sip:1001-a@{h.LOOPBACK}:{phones['1001'][0].port}"
        status, body, _, _ = admin.call("POST", "/api/registrations/remove", {"aor": aor_of("1001"), "key": key})
        check(status == 404 and "error" in body, f"second removal: {status} {body}")
        status, _, _, _ = admin.call("POST", "/api/registrations/remove", {"aor": aor_of("1001")})
        check(status == 400, f"no key: {status}")

    def close_phones():
        for client, _ in phones.values():
            client.close()

    return [
        ("two phones register", two_phones_register),
        ("both are listed", both_are_listed),
        ("filtered and paged", filtered_and_paged),
        ("session and CSRF are required", session_and_csrf_are_required),
        ("dashboard counts them", dashboard_counts_them),
        ("removal is seen everywhere", removal_is_seen_everywhere),
        ("removing again is not found", removing_again_is_not_found),
        ("close phones", close_phones),
    ]


def run_with_locator(binary, receiver, locator_type, locator_toml):
    print(f"-- locator {locator_type} --", flush=True)
    receiver.call("/_reset", {})
    backends = "\n".join([h.memory_backend_toml(USERS), locator_toml,
                          "[proxy.locator_webhook]", f'url = "{receiver.url("/events")}"', ""])
    return h.run_suite_no_exit(
        lambda: ApiServer(binary, backends, extra_toml="[console]\nsecure_cookie = false\n"),
        lambda server: cases(server, receiver, locator_type))


def main():
    binary = h.binary_from_argv()
    receiver = Service("recorder_service.py")
    failed = False
    try:
        with contextlib.ExitStack() as stack:
            failed |= run_with_locator(binary, receiver, "memory", "")
            failed |= run_with_locator(binary, receiver, "database", '[proxy.locator]\ntype = "database"\n')
            registry = Service("registry_service.py")
            stack.callback(registry.stop)
            failed |= run_with_locator(binary, receiver, "http",
                                       f'[proxy.locator]\ntype = "http"\nurl = "{registry.url("/registry")}"\n')
            if redis_server.RedisServer.available():
                redis = stack.enter_context(redis_server.RedisServer())
                failed |= run_with_locator(binary, receiver, "redis",
                                           f'[proxy.locator]\ntype = "redis"\nurl = "{redis.url}"\n')
            else:
                print(f"SKIP redis: {redis_server.RedisServer.missing_message()}", flush=True)
    finally:
        receiver.stop()
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
