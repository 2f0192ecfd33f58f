"""cppbx with tls_port and ws_port (one port for ws:// and wss://) and a
certificate made with the openssl command in the server's folder.

Over TLS (Python ssl, the certificate verified as its own CA for
"localhost"), over WS and over WSS (ws_client.py): a digest REGISTER gets
200, a query on the same flow lists the binding, and closing the connection
takes the binding offline (a query over UDP finds none). The locator webhook
(recorder_service.py) shows the registered event with the flow's transport and
supports_webrtc true for WS/WSS only, then the offline event. A sips: AoR
registered over TLS is the sip: AoR of the same user (docs/architecture.md,
Transports). Also: an
upgrade off ws_handler gets 404, one without subprotocol "sip" 400; a key
that does not match the certificate stops start-up with both files named, and
--check-config names a missing certificate file by its key.
"""

import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import shutil

import harness as h
import services
import ws_client
from harness import check

USERS = [("alice", "alice-pw"), ("bob", "bob-pw"), ("carol", "carol-pw")]


def make_certificate(folder, name="server"):
    """Self-signed EC certificate for localhost/127.0.0.1: (cert path, key path)."""
    certificate = os.path.join(folder, f"{name}-cert.pem")
    key = os.path.join(folder, f"{name}-key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", key, "-out", certificate, "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return certificate, key


def client_context(certificate):
    """Verifies the server against its own self-signed certificate."""
    context = ssl.create_default_context(cafile=certificate)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class TlsClient(h.TcpClient):
    """harness.TcpClient over TLS: same Content-Length framing."""

    transport = "TLS"

    def __init__(self, server_port, context, timeout=5.0):
        raw = socket.create_connection((h.LOOPBACK, server_port), timeout=timeout)
        self.sock = context.wrap_socket(raw, server_hostname="localhost")
        self.port = self.sock.getsockname()[1]
        self.buffer = b""


class FlowUser(h.SipUser):
    """A SipUser whose Via sent-by and Contact suit its transport: an
    RFC 7118 client puts a random ".invalid" host in both."""

    def __init__(self, client, username, password, via_host, contact_uri):
        super().__init__(client, username, password)
        self.via_host = via_host
        self.contact_uri = contact_uri

    def send_request(self, method, headers=(), request_uri=None, to_uri=None, max_forwards=70):
        self.cseq += 1
        text = h.build_request(
            method, request_uri or f"sip:{self.domain}", via_host=self.via_host, via_port=self.client.port,
            transport=self.client.transport, from_uri=self.aor, to_uri=to_uri or self.aor,
            call_id=self.call_id, cseq=self.cseq, from_tag=self.from_tag, headers=headers,
            max_forwards=max_forwards)
        self.client.send(text)
        return self.final_response()


class SipsUser(FlowUser):
    """Registers its sips: AoR (RFC 3261 26) with a sips: Request-URI."""

    @property
    def aor(self):
        return f"sips:{self.username}@{self.domain}"

    def register(self, contacts=(), expires=None, algorithm="MD5", extra=(), password=None):
        headers = [("Contact", c) for c in contacts]
        if expires is not None:
            headers.append(("Expires", str(expires)))
        return self.request("REGISTER", headers + list(extra), request_uri=f"sips:{self.domain}",
                            algorithm=algorithm, password=password)


class Receiver(services.Service):
    def __init__(self):
        super().__init__("recorder_service.py")

    def events(self):
        return [json.loads(r["body"]) for r in self.call("/_requests")["requests"]]

    def wait_event(self, predicate, timeout=10):
        found = h.poll(lambda: [e for e in self.events() if predicate(e)], timeout, interval=0.1)
        check(found, f"no matching webhook event; got {self.events()}")
        return found[0]


def registered_and_offline(server, receiver, *, user, client, contact_uri, via_host, transport, webrtc):
    """REGISTER over `client`'s flow, check it, close the flow, check offline."""
    password = dict(USERS)[user]
    phone = FlowUser(client, user, password, via_host, contact_uri)
    response = phone.register([f"<{contact_uri}>"], expires=300)
    check(response is not None and response.status == 200, f"REGISTER over {transport}: {h.describe(response)}")
    listed = phone.query()
    check(any(contact_uri in c for c in listed), f"query over {transport} lists {listed}, expected {contact_uri}")

    aor = f"sip:{user}@{h.LOOPBACK}"
    event = receiver.wait_event(lambda e: e["event"] == "registered" and e["location"]["aor"] == aor)
    location = event["location"]
    check(location["transport"] == transport, f"webhook transport {location['transport']}, expected {transport}")
    check(location["supports_webrtc"] is webrtc, f"webhook supports_webrtc {location['supports_webrtc']}")
    check(location["destination"].startswith(transport.lower() + ":"), f"destination {location['destination']}")

    client.close()
    offline = receiver.wait_event(
        lambda e: e["event"] == "offline" and any(l["aor"] == aor for l in e["locations"]))
    check(any(l["transport"] == transport for l in offline["locations"]), f"offline event {offline}")
    with h.closing_all(h.UdpClient(server.port)) as (udp,):
        remaining = h.SipUser(udp, user, password).query()
    check(not remaining, f"after closing the {transport} flow the query still lists {remaining}")


def cases(server, receiver, certificate, tls_port, ws_port):
    context = client_context(certificate)

    def register_over_tls():
        client = TlsClient(tls_port, context)
        check(client.sock.version() in ("TLSv1.2", "TLSv1.3"), f"TLS version {client.sock.version()}")
        registered_and_offline(server, receiver, user="alice", client=client,
                               contact_uri=f"sip:alice@{h.LOOPBACK}:{client.port};transport=tls",
                               via_host=h.LOOPBACK, transport="Tls", webrtc=False)

    def register_over_ws():
        client = ws_client.SipWebSocketClient(f"ws://{h.LOOPBACK}:{ws_port}/ws")
        check(client.ws.subprotocol == "sip", f"subprotocol {client.ws.subprotocol}")
        registered_and_offline(server, receiver, user="bob", client=client,
                               contact_uri="sip:bob@k3j9d2.invalid;transport=ws",
                               via_host="k3j9d2.invalid", transport="Ws", webrtc=True)

    def register_over_wss_on_the_same_port():
        client = ws_client.SipWebSocketClient(f"wss://localhost:{ws_port}/ws", ssl_context=context)
        check(client.ws.sock.version() in ("TLSv1.2", "TLSv1.3"), f"TLS version {client.ws.sock.version()}")
        registered_and_offline(server, receiver, user="carol", client=client,
                               contact_uri="sip:carol@p0w8x1.invalid;transport=ws",
                               via_host="p0w8x1.invalid", transport="Wss", webrtc=True)

    def sips_aor_is_the_sip_aor():
        client = TlsClient(tls_port, context)
        contact = f"sips:alice@{h.LOOPBACK}:{client.port}"
        try:
            phone = SipsUser(client, "alice", "alice-pw", h.LOOPBACK, contact)
            response = phone.register([f"<{contact}>"], expires=300)
            check(response is not None and response.status == 200, f"sips REGISTER: {h.describe(response)}")
            with h.closing_all(h.UdpClient(server.port)) as (udp,):
                listed = h.SipUser(udp, "alice", "alice-pw").query()
            check(any(contact in c for c in listed), f"the sip: AoR lists {listed}, expected {contact}")
        finally:
            client.close()

    def upgrade_refusals():
        try:
            ws_client.connect(f"ws://{h.LOOPBACK}:{ws_port}/elsewhere")
            check(False, "an upgrade off ws_handler was accepted")
        except ws_client.HandshakeError as error:
            check(error.status == 404, f"wrong path: HTTP {error.status}")
        try:
            ws_client.connect(f"ws://{h.LOOPBACK}:{ws_port}/ws", subprotocol=None)
            check(False, "an upgrade without subprotocol sip was accepted")
        except ws_client.HandshakeError as error:
            check(error.status == 400, f"no subprotocol: HTTP {error.status}")

    return [("REGISTER over TLS, query, close -> offline", register_over_tls),
            ("REGISTER over WS, query, close -> offline", register_over_ws),
            ("REGISTER over WSS on the ws_port, query, close -> offline", register_over_wss_on_the_same_port),
            ("sips: AoR over TLS is found as the sip: AoR", sips_aor_is_the_sip_aor),
            ("upgrade refused off the path (404) and without 'sip' (400)", upgrade_refusals)]


def start_up_errors(binary, folder, certificate):
    """Start-up and --check-config refuse bad certificate files, naming them."""
    failures = []
    _, other_key = make_certificate(folder, "other")
    config = os.path.join(folder, "bad.toml")

    def run(text, *arguments):
        with open(config, "w") as handle:
            handle.write(text)
        return subprocess.run([binary, "--conf", config, *arguments], capture_output=True, text=True,
                              timeout=30, cwd=folder)

    base = (f'database_url = "sqlite://{folder}/bad.sqlite3"\nhttp_addr = "{h.LOOPBACK}:{h.free_port()}"\n'
            f'[proxy]\naddr = "{h.LOOPBACK}"\nudp_port = {h.free_port()}\ntcp_port = {h.free_port()}\n'
            f"tls_port = {h.free_port()}\n" + h.memory_backend_toml(USERS))

    def mismatched_key_stops_start_up():
        result = run(f'ssl_certificate = "{certificate}"\nssl_private_key = "{other_key}"\n' + base)
        output = result.stdout + result.stderr
        check(result.returncode != 0, f"cppbx started with a mismatched key:\n{output}")
        check("does not match" in output and "other-key.pem" in output, f"output:\n{output}")

    def missing_certificate_named_by_check_config():
        result = run(f'ssl_certificate = "{folder}/absent.pem"\nssl_private_key = "{other_key}"\n' + base,
                     "--check-config")
        output = result.stdout + result.stderr
        check(result.returncode == 1, f"--check-config returned {result.returncode}:\n{output}")
        check("ssl_certificate" in output and "absent.pem" in output, f"output:\n{output}")

    for name, case in [("mismatched key: start-up error naming the files", mismatched_key_stops_start_up),
                       ("missing certificate: --check-config names the key", missing_certificate_named_by_check_config)]:
        try:
            case()
            print(f"PASS {name}", flush=True)
        except Exception as error:  # noqa: BLE001
            failures.append(name)
            print(f"FAIL {name}: {type(error).__name__}: {error}", flush=True)
    return failures


def main():
    binary = h.binary_from_argv()
    folder = tempfile.mkdtemp(prefix="cppbx-tls-ws-")
    receiver = Receiver()
    failed = False
    try:
        certificate, key = make_certificate(folder)
        tls_port, ws_port = h.free_port(), h.free_port()
        webhook = "\n".join(["", "[proxy.locator_webhook]", f'url = "{receiver.url("/events")}"', ""])
        with open(certificate) as c, open(key) as k:
            files = {"cert.pem": c.read(), "key.pem": k.read()}
        # The certificate in [proxy], relative to cppbx's working folder (its own).
        proxy = {"tls_port": str(tls_port), "ws_port": str(ws_port),
                 "ssl_certificate": '"cert.pem"', "ssl_private_key": '"key.pem"'}
        failed |= h.run_suite_no_exit(
            lambda: h.CppbxServer(binary, h.memory_backend_toml(USERS) + webhook, proxy=proxy, files=files),
            lambda server: cases(server, receiver, certificate, tls_port, ws_port))
        failed |= bool(start_up_errors(binary, folder, certificate))
    finally:
        receiver.stop()
        shutil.rmtree(folder, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
