"""A call across two cppbx nodes sharing registrations through Redis.

alice registers on node A, bob on node B; both nodes use the same Redis
locator and proxy.cluster_secret. bob calls alice through B: B finds alice's
binding held by A (its home_proxy) and hands the INVITE to A with a signed
Route; A trusts it without a new challenge and sends it over alice's flow.
Both nodes record-route, so the ACK and the BYE (from either side) travel
bob - B - A - alice. A node without the secret cannot make A relay: a forged
relay Route is challenged like any request. B writes the call record.
"""

import sqlite3
import sys

import harness as h
import redis_server
from harness import check, describe
from phone import Phone
from test_calls import established_call, hang_up

USERS = [("alice", "alice-pw"), ("bob", "bob-pw")]
SECRET = "cluster secret for the test"


def node(binary, redis):
    locator = f'{{ type = "redis", url = "{redis.url}", timeout_ms = 1000, key_prefix = "xcall:" }}'
    return h.CppbxServer(binary, h.memory_backend_toml(USERS),
                         proxy={"locator": locator, "auth_algorithms": '["MD5"]',
                                "cluster_secret": f'"{SECRET}"'})


def cases(node_a, node_b):
    alice = Phone(node_a, "alice", "alice-pw")
    bob = Phone(node_b, "bob", "bob-pw")

    def register_on_each_node():
        alice.register()
        bob.register()

    def call_from_b_to_a_and_back():
        call_id, dialog, alice_dialog, invite = established_call(node_b, bob, alice, "alice")
        routes = invite.all("record-route")
        check(len(routes) == 2 and f":{node_a.port};" in routes[0] and f":{node_b.port};" in routes[1],
              f"alice should see A's then B's Record-Route, got {routes}")
        hang_up(alice, alice_dialog, bob)
        connection = sqlite3.connect(node_b.path("cppbx.sqlite3"))
        try:
            rows = h.poll(lambda: connection.execute(
                "SELECT end_reason, status_code FROM call_records WHERE call_id = ?", (call_id,)).fetchall(), 5)
        finally:
            connection.close()
        check(rows == [("bye_callee", 200)], f"B's call record {rows}")

    def bye_from_the_caller_across_nodes():
        call_id, dialog, _, _ = established_call(node_b, bob, alice, "alice")
        hang_up(bob, dialog, alice)

    def forged_relay_is_challenged():
        client = h.UdpClient(node_a.port)
        try:
            request = h.build_request(
                "INVITE", "sip:alice-a@127.0.0.1:9", via_host=h.LOOPBACK, via_port=client.port,
                from_uri="sip:mallory@127.0.0.1", to_uri="sip:alice@127.0.0.1", call_id="forged-1", cseq=1,
                headers=[("Route", f"<sip:{h.LOOPBACK}:{node_a.port};lr;relay=u~127.0.0.1~9~0;rk=0123456789abcdef01234567>")])
            client.send(request)
            deadline_response = None
            for _ in range(5):
                response = client.recv(3)
                if response is None or response.status >= 200:
                    deadline_response = response
                    break
            check(deadline_response is not None and deadline_response.status == 407,
                  f"a relay Route without the right signature must be challenged, got {describe(deadline_response)}")
        finally:
            client.close()

    def stop_both():
        alice.close()
        bob.close()
        node_a.stop()
        node_b.stop()

    return [
        ("alice registers on A, bob on B", register_on_each_node),
        ("bob (B) calls alice (A), BYE from alice, record on B", call_from_b_to_a_and_back),
        ("BYE from bob across both nodes", bye_from_the_caller_across_nodes),
        ("a forged relay Route is challenged", forged_relay_is_challenged),
        ("both nodes exit 0 on SIGTERM", stop_both),
    ]


def main():
    binary = sys.argv[1]
    if not redis_server.RedisServer.available():
        print(f"SKIP: {redis_server.RedisServer.missing_message()}")
        sys.exit(0)
    failed = True
    with redis_server.RedisServer() as redis:
        try:
            with node(binary, redis) as node_a, node(binary, redis) as node_b:
                failures = h.run_cases(cases(node_a, node_b))
                if failures:
                    node_a.dump_log_tail()
                    node_b.dump_log_tail()
                failed = bool(failures)
        except h.CheckFailed as error:
            print(f"FAIL start-up: {error}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
