"""Two cppbx nodes sharing registrations through one real Redis.

Nodes A and B run on their own ports with [proxy.locator] type = "redis"
and the same password-protected redis-server, started by the test. alice
registers on A; a REGISTER query for alice sent to B answers A's binding,
and B's lookup names A as the binding's home_proxy (B runs at debug level,
where the redis locator logs the home of each binding a lookup found; the
test also reads the binding's JSON in Redis). bob does the same the other
way round, and an unregistration through B removes a binding made on A.
Then Redis is stopped: REGISTERs and queries on both nodes get 503 with
Retry-After; once Redis is back (empty: the test server saves nothing),
registrations work again on both nodes without restarting cppbx, and the
Redis password never shows up in a log. Both nodes then exit cleanly on
SIGTERM.
"""

import json
import sys

import harness as h
import redis_server
from harness import check

PASSWORD = "pw@integration:1/x"
USERS = [("alice", "alice-pw"), ("bob", "bob-pw")]


def node(binary, redis, log_level="info"):
    locator = (f'{{ type = "redis", url = "{redis.url}", timeout_ms = 500, pool_size = 2, '
               f'key_prefix = "itest:" }}')
    return h.CppbxServer(binary, h.memory_backend_toml(USERS), proxy={"locator": locator},
                         log_level=log_level)


def home_of(server):
    return f"sip:{h.LOOPBACK}:{server.port}"


def stored_bindings(redis):
    """Every binding in Redis, parsed from its JSON."""
    found = []
    for name in redis.command("KEYS", "itest:binding:*"):
        value = redis.command("GET", name)
        if value:
            found.append(json.loads(value[0]))
    return found


def query(server, username, password):
    client = h.UdpClient(server.port)
    try:
        user = h.SipUser(client, username, password)
        return user.register()
    finally:
        client.close()


def cases(redis, node_a, node_b):
    state = {}

    def alice_registers_on_a():
        client = h.UdpClient(node_a.port)
        try:
            alice = h.SipUser(client, "alice", "alice-pw")
            state["alice_contact"] = h.contact_uri(alice.contact())
            response = alice.register(contacts=[alice.contact()])
            check(response is not None and response.status == 200,
                  f"alice on A: expected 200, got {h.describe(response)}")
        finally:
            client.close()

    def b_answers_a_binding():
        response = query(node_b, "alice", "alice-pw")
        check(response is not None and response.status == 200,
              f"query on B: expected 200, got {h.describe(response)}")
        uris = [h.contact_uri(c) for c in response.contacts()]
        check(uris == [state["alice_contact"]],
              f"query on B: expected alice's binding made on A {state['alice_contact']}, got {uris}")

    def b_lookup_names_a_as_home():
        wanted = f"home={home_of(node_a)} from=udp:"
        found = h.poll(lambda: wanted in node_b.log_text(), 5)
        check(found, f"B's log has no lookup naming {home_of(node_a)} as home:\n"
                     f"{node_b.log_text()[-2000:]}")
        stored = [b for b in stored_bindings(redis) if b["aor"].startswith("sip:alice@")]
        check(len(stored) == 1 and stored[0]["home_proxy"] == home_of(node_a),
              f"Redis should hold alice's binding with home {home_of(node_a)}: {stored}")

    def bob_registers_on_b_and_a_sees_it():
        client = h.UdpClient(node_b.port)
        try:
            bob = h.SipUser(client, "bob", "bob-pw")
            response = bob.register(contacts=[bob.contact()])
            check(response is not None and response.status == 200,
                  f"bob on B: expected 200, got {h.describe(response)}")
            bob_uri = h.contact_uri(bob.contact())
        finally:
            client.close()
        response = query(node_a, "bob", "bob-pw")
        uris = [h.contact_uri(c) for c in response.contacts()] if response else []
        check(response is not None and response.status == 200 and uris == [bob_uri],
              f"query on A for bob: expected [{bob_uri}], got {h.describe(response)}")
        stored = [b for b in stored_bindings(redis) if b["aor"].startswith("sip:bob@")]
        check(len(stored) == 1 and stored[0]["home_proxy"] == home_of(node_b),
              f"bob's binding should have home {home_of(node_b)}: {stored}")

    def unregister_through_b_removes_a_binding():
        client = h.UdpClient(node_b.port)
        try:
            alice = h.SipUser(client, "alice", "alice-pw")
            response = alice.register(contacts=[f"<{state['alice_contact']}>;expires=0"])
            check(response is not None and response.status == 200 and not response.contacts(),
                  f"unregister through B: expected 200 without Contact, got {h.describe(response)}")
        finally:
            client.close()
        response = query(node_a, "alice", "alice-pw")
        check(response is not None and response.status == 200 and not response.contacts(),
              f"A should see alice unregistered: {h.describe(response)}")

    def redis_down_gives_503_on_both_nodes():
        redis.stop()
        for server, name in ((node_a, "A"), (node_b, "B")):
            client = h.UdpClient(server.port)
            try:
                alice = h.SipUser(client, "alice", "alice-pw")
                response = alice.register(contacts=[alice.contact()])
                check(response is not None and response.status == 503 and response.has("retry-after"),
                      f"REGISTER on {name} with Redis down: expected 503 + Retry-After, "
                      f"got {h.describe(response)}")
            finally:
                client.close()
            response = query(server, "bob", "bob-pw")
            check(response is not None and response.status == 503,
                  f"query on {name} with Redis down: expected 503, got {h.describe(response)}")
        check(node_a.alive() and node_b.alive(), "a node died while Redis was down")

    def recovery_without_restart():
        redis.start()
        client = h.UdpClient(node_a.port)
        try:
            alice = h.SipUser(client, "alice", "alice-pw")
            response = alice.register(contacts=[alice.contact()])
            check(response is not None and response.status == 200,
                  f"REGISTER on A after Redis came back: expected 200, got {h.describe(response)}")
            alice_uri = h.contact_uri(alice.contact())
        finally:
            client.close()
        response = query(node_b, "alice", "alice-pw")
        uris = [h.contact_uri(c) for c in response.contacts()] if response else []
        check(response is not None and response.status == 200 and uris == [alice_uri],
              f"query on B after recovery: expected [{alice_uri}], got {h.describe(response)}")

    def password_never_logged():
        for server, name in ((node_a, "A"), (node_b, "B")):
            check(PASSWORD not in server.log_text(), f"node {name}'s log shows the Redis password")
            check("503" in server.log_text() or "unavailable" in server.log_text(),
                  f"node {name} logged nothing about the outage")

    def both_stop_cleanly():
        node_a.stop()
        node_b.stop()

    return [
        ("alice registers on node A", alice_registers_on_a),
        ("node B's REGISTER query answers node A's binding", b_answers_a_binding),
        ("node B's lookup names node A as home_proxy", b_lookup_names_a_as_home),
        ("bob registers on node B, node A sees it", bob_registers_on_b_and_a_sees_it),
        ("an unregistration through B removes the binding made on A",
         unregister_through_b_removes_a_binding),
        ("Redis stopped: 503 + Retry-After on both nodes", redis_down_gives_503_on_both_nodes),
        ("Redis back: both nodes work again without a restart", recovery_without_restart),
        ("the Redis password is never logged", password_never_logged),
        ("both nodes exit cleanly on SIGTERM", both_stop_cleanly),
    ]


def main():
    binary = h.binary_from_argv()
    if not redis_server.RedisServer.available():
        print(f"SKIP: {redis_server.RedisServer.missing_message()}")
        sys.exit(0)
    failed = True
    with redis_server.RedisServer(password=PASSWORD) as redis:
        try:
            with node(binary, redis) as node_a, node(binary, redis, log_level="debug") as node_b:
                failures = h.run_cases(cases(redis, node_a, node_b))
                if failures:
                    node_a.dump_log_tail()
                    node_b.dump_log_tail()
                failed = bool(failures)
        except h.CheckFailed as error:
            print(f"FAIL start-up: {error}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
