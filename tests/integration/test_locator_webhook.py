"""cppbx with [proxy.locator_webhook] against a real recording receiver.

The receiver is tests/support/http_services/recorder_service.py on a free
loopback port: it records every POST (headers, body, arrival time) and can be
told to answer slowly. Checked at the receiver:

- registered / unregistered / offline events with the exact JSON (keys in
  the documented order, values from the REGISTER), offline both by expiry
  (a 2 s registration) and by a TCP client closing its connection;
- the custom headers arrive;
- receiver down, then up: the event arrives after a retry;
- receiver slow (2 s per answer): REGISTERs are answered as fast as without
  a webhook (measured), and the events still arrive;
- a second cppbx with events = ["unregistered"] sends only those.
"""

import json
import sys
import time

import harness as h
import services
from harness import check

USERS = [("alice", "alice-pw"), ("bob", "bob-pw"), ("carol", "carol-pw"), ("dave", "dave-pw")] + \
        [(f"u{i}", f"u{i}-pw") for i in range(10)]
API_KEY = "webhook-key-5521"
USER_AGENT = "IntegPhone/1.0"
LOCATION_KEYS = ["aor", "expires", "destination", "supports_webrtc", "transport", "user_agent", "home_proxy"]


class Receiver(services.Service):
    """recorder_service.py with its control paths; stop() and start() keep it."""

    def __init__(self):
        super().__init__("recorder_service.py")

    def requests(self):
        return self.call("/_requests")["requests"]

    def reset(self):
        self.call("/_reset", {})

    def plan(self, delay_ms=0):
        self.call("/_plan", {"statuses": [], "delay_ms": delay_ms})

    def events(self):
        """(request, parsed body with key order kept) for every POST."""
        out = []
        for request in self.requests():
            out.append((request, json.loads(request["body"], object_pairs_hook=list)))
        return out

    def wait_events(self, predicate, timeout=10):
        found = h.poll(lambda: [e for e in self.events() if predicate(dict(e[1]))], timeout, interval=0.1)
        return found or []


def webhook_toml(receiver, extra=""):
    return "\n".join([
        "",
        "[proxy.locator]",
        "sweep_interval_seconds = 1",
        "",
        "[proxy.locator_webhook]",
        f'url = "{receiver.url("/sip-events")}"',
        "timeout_ms = 4000",
        "max_attempts = 6",
        f'headers = {{ "X-API-Key" = "{API_KEY}", "X-Source" = "cppbx-integration" }}',
        extra,
    ])


def make_server(binary, receiver, extra=""):
    return h.CppbxServer(
        binary, h.memory_backend_toml(USERS) + webhook_toml(receiver, extra),
        proxy={"registrar_min_expires": "1"})


def user_for(name, client):
    return h.SipUser(client, name, dict(USERS)[name])


def register(user, contacts, expires):
    response = user.register(contacts, expires=expires, extra=[("User-Agent", USER_AGENT)])
    check(response is not None and response.status == 200,
          f"REGISTER of {user.username}: expected 200, got {h.describe(response)}")
    return response


def check_location(pairs, *, aor, expires, destination, transport, home_proxy):
    """One location object, keys in the documented order and exact values."""
    keys = [key for key, _ in pairs]
    check(keys == LOCATION_KEYS, f"location keys {keys}, expected {LOCATION_KEYS}")
    location = dict(pairs)
    expected = {"aor": aor, "destination": destination, "supports_webrtc": False,
                "transport": transport, "user_agent": USER_AGENT, "home_proxy": home_proxy}
    for key, value in expected.items():
        check(location[key] == value, f"location.{key} = {location[key]!r}, expected {value!r}")
    low, high = expires
    check(low <= location["expires"] <= high, f"location.expires = {location['expires']}, expected {expires}")


def check_event_envelope(pairs, event, started):
    keys = [key for key, _ in pairs]
    body_key = "locations" if event == "offline" else "location"
    check(keys == ["event", body_key, "timestamp"], f"event keys {keys}")
    body = dict(pairs)
    check(body["event"] == event, f"event {body['event']}, expected {event}")
    check(int(started) <= body["timestamp"] <= int(time.time()) + 1,
          f"timestamp {body['timestamp']} not the event's time (Unix seconds)")
    return body


def cases(server, receiver):
    home = f"sip:{h.LOOPBACK}:{server.port}"

    def registered_and_unregistered_with_exact_json_and_headers():
        receiver.reset()
        client = h.UdpClient(server.port)
        try:
            alice = user_for("alice", client)
            started = time.time()
            register(alice, [f"<sip:alice@{h.LOOPBACK}:{client.port}>"], 120)
            found = receiver.wait_events(lambda e: e["event"] == "registered")
            check(len(found) == 1, f"expected one registered event, got {receiver.events()}")
            request, pairs = found[0]
            check(request["headers"].get("X-API-Key") == API_KEY, f"headers {request['headers']}")
            check(request["headers"].get("X-Source") == "cppbx-integration", "custom header missing")
            check(request["headers"].get("Content-Type") == "application/json", "content type")
            check(request["method"] == "POST" and request["path"] == "/sip-events", "method/path")
            body = check_event_envelope(pairs, "registered", started)
            check_location(body["location"], aor=f"sip:alice@{h.LOOPBACK}", expires=(118, 120),
                           destination=f"udp:{h.LOOPBACK}:{client.port}", transport="Udp", home_proxy=home)
            register(alice, [f"<sip:alice@{h.LOOPBACK}:{client.port}>"], 0)
            found = receiver.wait_events(lambda e: e["event"] == "unregistered")
            check(len(found) == 1, f"expected one unregistered event, got {receiver.events()}")
            body = check_event_envelope(found[0][1], "unregistered", started)
            check_location(body["location"], aor=f"sip:alice@{h.LOOPBACK}", expires=(0, 0),
                           destination=f"udp:{h.LOOPBACK}:{client.port}", transport="Udp", home_proxy=home)
        finally:
            client.close()

    def offline_by_expiry():
        receiver.reset()
        client = h.UdpClient(server.port)
        try:
            bob = user_for("bob", client)
            started = time.time()
            register(bob, [f"<sip:bob@{h.LOOPBACK}:{client.port}>"], 2)
            found = receiver.wait_events(lambda e: e["event"] == "offline", timeout=8)
            check(len(found) == 1, f"expected one offline event, got {receiver.events()}")
            waited = time.time() - started
            check(waited >= 1.5, f"offline after {waited:.1f}s, before the 2 s expiry")
            body = check_event_envelope(found[0][1], "offline", started)
            check(len(body["locations"]) == 1, f"locations {body['locations']}")
            check_location(body["locations"][0], aor=f"sip:bob@{h.LOOPBACK}", expires=(0, 0),
                           destination=f"udp:{h.LOOPBACK}:{client.port}", transport="Udp", home_proxy=home)
            kinds = [dict(e[1])["event"] for e in receiver.events()]
            check(kinds == ["registered", "offline"], f"events in order {kinds}")
        finally:
            client.close()

    def offline_by_tcp_disconnect():
        receiver.reset()
        client = h.TcpClient(server.port)
        carol = user_for("carol", client)
        started = time.time()
        register(carol, [f"<sip:carol@{h.LOOPBACK}:{client.port};transport=tcp>"], 300)
        port = client.port
        client.close()
        found = receiver.wait_events(lambda e: e["event"] == "offline", timeout=8)
        check(len(found) == 1, f"expected one offline event, got {receiver.events()}")
        body = check_event_envelope(found[0][1], "offline", started)
        check(len(body["locations"]) == 1, f"locations {body['locations']}")
        check_location(body["locations"][0], aor=f"sip:carol@{h.LOOPBACK}", expires=(0, 0),
                       destination=f"tcp:{h.LOOPBACK}:{port}", transport="Tcp", home_proxy=home)

    def receiver_down_then_up():
        receiver.stop()
        client = h.UdpClient(server.port)
        try:
            dave = user_for("dave", client)
            register(dave, [f"<sip:dave@{h.LOOPBACK}:{client.port}>"], 120)
            time.sleep(1.0)  # the first attempt and at least one retry fail
            receiver.start()
            found = receiver.wait_events(lambda e: e["event"] == "registered", timeout=15)
            check(len(found) == 1, f"expected the registered event after the receiver came back, "
                                   f"got {receiver.events()}")
            check(dict(dict(found[0][1])["location"])["aor"] == f"sip:dave@{h.LOOPBACK}", "dave's event")
            check("retry" in server.log_text(), "no retry logged")
            check(API_KEY not in server.log_text(), "a header value reached the log")
        finally:
            client.close()

    def slow_receiver_does_not_slow_registrations():
        receiver.reset()
        receiver.plan(delay_ms=2000)
        client = h.UdpClient(server.port)
        try:
            durations = []
            started = time.monotonic()
            for i in range(10):
                user = user_for(f"u{i}", client)
                begin = time.monotonic()
                register(user, [f"<sip:u{i}@{h.LOOPBACK}:{client.port}>"], 120)
                durations.append(time.monotonic() - begin)
            total = time.monotonic() - started
            print(f"  10 REGISTERs with a 2 s receiver: slowest {max(durations) * 1000:.0f} ms, "
                  f"all in {total * 1000:.0f} ms", flush=True)
            check(max(durations) < 0.5, f"a REGISTER took {max(durations):.2f}s with a slow receiver")
            check(total < 2.0, f"10 REGISTERs took {total:.2f}s: they waited for the receiver")
            found = h.poll(lambda: len(receiver.requests()) >= 10 and receiver.requests(), 10, 0.1)
            check(found and len(found) == 10, f"expected 10 events, got {len(found or [])}")
        finally:
            receiver.plan(delay_ms=0)
            client.close()

    return [
        ("registered and unregistered: exact JSON and custom headers",
         registered_and_unregistered_with_exact_json_and_headers),
        ("offline by expiry", offline_by_expiry),
        ("offline by TCP disconnect", offline_by_tcp_disconnect),
        ("receiver down then up: delivered after a retry", receiver_down_then_up),
        ("slow receiver: registrations unaffected", slow_receiver_does_not_slow_registrations),
    ]


def filter_cases(server, receiver):
    def only_unregistered_events_are_sent():
        receiver.reset()
        client = h.UdpClient(server.port)
        try:
            alice = user_for("alice", client)
            register(alice, [f"<sip:alice@{h.LOOPBACK}:{client.port}>"], 120)
            register(alice, [f"<sip:alice@{h.LOOPBACK}:{client.port}>"], 0)
            found = receiver.wait_events(lambda e: e["event"] == "unregistered")
            check(len(found) == 1, f"expected the unregistered event, got {receiver.events()}")
            time.sleep(0.5)
            kinds = [dict(e[1])["event"] for e in receiver.events()]
            check(kinds == ["unregistered"], f"the filter let through {kinds}")
        finally:
            client.close()

    return [("events filter: only unregistered", only_unregistered_events_are_sent)]


def main():
    binary = sys.argv[1]
    receiver = Receiver()
    failed = False
    try:
        failed |= h.run_suite_no_exit(lambda: make_server(binary, receiver), lambda s: cases(s, receiver))
        failed |= h.run_suite_no_exit(lambda: make_server(binary, receiver, 'events = ["unregistered"]'),
                                      lambda s: filter_cases(s, receiver))
    finally:
        receiver.stop()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
