"""cppbx with [proxy.locator] type = "http" against a real registry service
(tests/support/http_services/registry_service.py on a free loopback port).

- a REGISTER stores the binding at the service (its /_store), which saw the
  registered POST with the configured header;
- a REGISTER query (no Contact) shows the binding, read back from the service;
  a binding put at the service directly (as another node would) shows too;
- Expires 0 POSTs unregistered and the binding is gone;
- a TCP client closing its connection POSTs offline;
- with the service down, REGISTER gets 503 with Retry-After; once the service
  is back, REGISTER works again without restarting cppbx.
"""

import sys
import time

import harness as h
import services
from harness import check

USERS = [("alice", "alice-pw"), ("bob", "bob-pw"), ("carol", "carol-pw")]
REGISTRY_KEY = "registry-key-9012"


class Registry(services.Service):
    """registry_service.py with its control paths."""

    def __init__(self):
        super().__init__("registry_service.py")

    def store(self):
        return self.call("/_store")

    def posts(self):
        return self.call("/_posts")

    def put(self, location):
        self.call("/_put", location)


def make_server(binary, registry):
    locator = "\n".join([
        "",
        "[proxy.locator]",
        'type = "http"',
        f'url = "{registry.url("/registry")}"',
        "timeout_ms = 1000",
        f'headers = {{ "X-Registry-Key" = "{REGISTRY_KEY}" }}',
    ])
    return h.CppbxServer(binary, h.memory_backend_toml(USERS) + locator)


def user_for(name, client):
    return h.SipUser(client, name, dict(USERS)[name])


def contact_uris(response):
    return [h.contact_uri(c) for c in response.contacts()]


def cases(server, registry):
    home = f"sip:{h.LOOPBACK}:{server.port}"

    def register_stores_at_the_service_and_query_reads_it_back():
        client = h.UdpClient(server.port)
        try:
            alice = user_for("alice", client)
            uri = f"sip:alice@{h.LOOPBACK}:{client.port}"
            response = alice.register([f"<{uri}>"], expires=300)
            check(response is not None and response.status == 200, f"REGISTER: {h.describe(response)}")
            stored = [loc for loc in registry.store() if loc["aor"] == f"sip:alice@{h.LOOPBACK}"]
            check(len(stored) == 1 and stored[0]["contact"] == uri, f"service store {stored}")
            check(stored[0]["home_proxy"] == home, f"home_proxy {stored[0]['home_proxy']}, expected {home}")
            post = registry.posts()[-1]
            check(post["event"]["event"] == "registered", f"last POST {post['event']}")
            check(post["headers"].get("X-Registry-Key") == REGISTRY_KEY, "configured header not received")
            query = alice.query()
            check([h.contact_uri(c) for c in query] == [uri], f"query shows {query}")
            expires = h.contact_expires(query[0])
            check(expires is not None and 290 <= expires <= 300, f"query expires {expires}")
        finally:
            client.close()

    def binding_of_another_node_is_found():
        client = h.UdpClient(server.port)
        try:
            alice = user_for("alice", client)
            registry.put({"aor": f"sip:alice@{h.LOOPBACK}", "contact": "sip:alice@198.51.100.7:5060",
                          "expires_at": int(time.time()) + 600, "destination": "udp:198.51.100.7:5060",
                          "transport": "Udp", "home_proxy": "sip:198.51.100.1:5060"})
            uris = [h.contact_uri(c) for c in alice.query()]
            check("sip:alice@198.51.100.7:5060" in uris and len(uris) == 2, f"query shows {uris}")
        finally:
            client.close()

    def expires_zero_posts_unregistered():
        client = h.UdpClient(server.port)
        try:
            bob = user_for("bob", client)
            uri = f"sip:bob@{h.LOOPBACK}:{client.port}"
            check(bob.register([f"<{uri}>"], expires=300).status == 200, "REGISTER bob")
            response = bob.register([f"<{uri}>"], expires=0)
            check(response is not None and response.status == 200, f"unREGISTER: {h.describe(response)}")
            post = registry.posts()[-1]["event"]
            check(post["event"] == "unregistered" and post["location"]["contact"] == uri, f"last POST {post}")
            check(not [loc for loc in registry.store() if loc["aor"] == f"sip:bob@{h.LOOPBACK}"],
                  "bob still stored at the service")
            check(bob.query() == [], "bob's query not empty")
        finally:
            client.close()

    def tcp_close_posts_offline():
        client = h.TcpClient(server.port)
        carol = user_for("carol", client)
        uri = f"sip:carol@{h.LOOPBACK}:{client.port};transport=tcp"
        check(carol.register([f"<{uri}>"], expires=300).status == 200, "REGISTER carol over TCP")
        client.close()
        offline = h.poll(lambda: [p for p in registry.posts() if p["event"]["event"] == "offline"], 5)
        check(offline, "no offline POST after the TCP connection closed")
        locations = offline[-1]["event"]["locations"]
        check(len(locations) == 1 and locations[0]["contact"] == uri and locations[0]["transport"] == "Tcp",
              f"offline locations {locations}")
        check(not [loc for loc in registry.store() if loc["aor"] == f"sip:carol@{h.LOOPBACK}"],
              "carol still stored at the service")

    def service_down_gives_503_then_recovers():
        client = h.UdpClient(server.port)
        try:
            alice = user_for("alice", client)
            registry.stop()
            started = time.monotonic()
            response = alice.register([f"<sip:alice@{h.LOOPBACK}:{client.port}>"], expires=300)
            took = time.monotonic() - started
            check(response is not None and response.status == 503, f"expected 503, got {h.describe(response)}")
            check(response.get("retry-after") is not None, "503 without Retry-After")
            check(took < 3.0, f"the 503 took {took:.1f}s")
            registry.start()
            response = alice.register([f"<sip:alice@{h.LOOPBACK}:{client.port}>"], expires=300)
            check(response is not None and response.status == 200, f"after recovery: {h.describe(response)}")
            check(REGISTRY_KEY not in server.log_text(), "a header value reached the log")
        finally:
            client.close()

    return [
        ("register stores at the service; query reads it back", register_stores_at_the_service_and_query_reads_it_back),
        ("a binding of another node is found", binding_of_another_node_is_found),
        ("Expires 0 posts unregistered", expires_zero_posts_unregistered),
        ("TCP close posts offline", tcp_close_posts_offline),
        ("service down: 503 + Retry-After, then recovery", service_down_gives_503_then_recovers),
    ]


def main():
    binary = sys.argv[1]
    registry = Registry()
    try:
        failed = h.run_suite_no_exit(lambda: make_server(binary, registry), lambda s: cases(s, registry))
    finally:
        registry.stop()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
