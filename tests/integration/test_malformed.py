"""Bad input over UDP and TCP never kills the server, and the protocol
errors get the answers RFC 3261 asks for (400 with a reason, 505, 420 with
Unsupported, 483), OPTIONS to the server itself is answered with its
capabilities, and the RFC 5626 CRLFCRLF ping gets a CRLF pong.
"""

import os
import secrets

import harness as h
from harness import check, describe

USERS = [("4001", "four-thousand-one"), ("4002", "four-thousand-two")]


def raw_request(client, method="OPTIONS", request_uri=None, version="SIP/2.0",
                cseq_line=None, headers=(), max_forwards=70):
    """A hand-assembled request; returns (text, call_id)."""
    call_id = secrets.token_hex(8)
    lines = [f"{method} {request_uri or f'sip:{h.LOOPBACK}'} {version}",
             f"Via: SIP/2.0/{client.transport} {h.LOOPBACK}:{client.port};branch={h.new_branch()};rport",
             f"Max-Forwards: {max_forwards}",
             f"From: <sip:probe@{h.LOOPBACK}>;tag={h.new_tag()}",
             f"To: <sip:{h.LOOPBACK}>",
             f"Call-ID: {call_id}",
             cseq_line or f"CSeq: 1 {method}"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append("Content-Length: 0")
    return "\r\n".join(lines) + "\r\n\r\n", call_id


def answer_to(client, text, call_id, timeout=5.0):
    client.send(text)
    while True:
        response = client.recv(timeout)
        if response is None or (response.is_response and response.status >= 200
                                and response.get("call-id") == call_id):
            return response


def make_client(server, transport):
    return h.TcpClient(server.port) if transport == "tcp" else h.UdpClient(server.port)


def cases(server):
    def garbage(transport):
        def case():
            blobs = [os.urandom(300), b"\x00" * 64, b"NOT SIP AT ALL\r\n\r\n",
                     b"INVITE\r\n\r\n", b"SIP/2.0 200\r\n\r\n", b"\r\n\r\n\r\n",
                     b"REGISTER sip:x SIP/2.0\r\nContent-Length: 99999999999999999999\r\n\r\n"]
            for blob in blobs:
                client = make_client(server, transport)
                client.send(blob)
                if transport == "tcp":
                    client.closed_by_peer(0.5)
                client.close()
            check(server.alive(), "cppbx died on garbage")
            check(server.options_ping(), "no 200 to OPTIONS after garbage")
        return case

    def tcp_garbage_closes_connection():
        client = h.TcpClient(server.port)
        client.send(b"this is not a SIP message and has no Content-Length\r\n\r\n")
        check(client.closed_by_peer(10), "an unframeable TCP stream was not closed")

    def bad_cseq(transport):
        # A CSeq that is present but unusable still can be echoed byte for
        # byte, so RFC 3261 8.2 / RFC 4475 3.1.2.4 (scalarlg) want a 400.
        def case():
            for line in ("CSeq: abc OPTIONS", "CSeq: 36893488147419103232 OPTIONS"):
                client = make_client(server, transport)
                text, call_id = raw_request(client, cseq_line=line)
                response = answer_to(client, text, call_id)
                client.close()
                check(response is not None and response.status == 400,
                      f"'{line}': expected 400, got {describe(response)}")
                check("cseq" in response.reason.lower(),
                      f"'{line}': 400 reason {response.reason!r} does not name CSeq")
        return case

    def cseq_method_mismatch():
        client = h.UdpClient(server.port)
        text, call_id = raw_request(client, cseq_line="CSeq: 1 INVITE")
        response = answer_to(client, text, call_id)
        check(response is not None and response.status == 400, f"CSeq method mismatch: expected 400, got {describe(response)}")
        client.close()

    def bad_version(transport):
        def case():
            client = make_client(server, transport)
            text, call_id = raw_request(client, version="SIP/3.0")
            response = answer_to(client, text, call_id)
            check(response is not None and response.status == 505, f"SIP/3.0: expected 505, got {describe(response)}")
            client.close()
        return case

    def unknown_require(transport):
        def case():
            client = make_client(server, transport)
            name, password = USERS[0]
            someone = h.SipUser(client, name, password)
            response = someone.register([someone.contact()], expires=120,
                                        extra=[("Require", "frobnication")])
            check(response is not None and response.status == 420, f"Require: expected 420, got {describe(response)}")
            check("frobnication" in (response.get("unsupported") or ""),
                  f"420 without 'Unsupported: frobnication':\n{response}")
            client.close()
        return case

    def max_forwards_zero():
        client = h.UdpClient(server.port)
        caller = h.SipUser(client, *USERS[0])
        target = f"sip:{USERS[1][0]}@{h.LOOPBACK}"
        response = caller.request("MESSAGE", [("Content-Type", "text/plain")],
                                  request_uri=target, to_uri=target, max_forwards=0)
        check(response is not None and response.status == 483, f"Max-Forwards 0: expected 483, got {describe(response)}")
        client.close()

    def options_capabilities(transport):
        def case():
            client = make_client(server, transport)
            text, call_id = raw_request(client, request_uri=f"sip:{h.LOOPBACK}:{server.port}")
            response = answer_to(client, text, call_id)
            check(response is not None and response.status == 200, f"OPTIONS: expected 200, got {describe(response)}")
            allow = (response.get("allow") or "").upper()
            for method in ("REGISTER", "OPTIONS"):
                check(method in allow, f"Allow {allow!r} lacks {method}")
            check(response.has("accept"), f"no Accept in 200 to OPTIONS:\n{response}")
            check(response.has("supported"), f"no Supported in 200 to OPTIONS:\n{response}")
            client.close()
        return case

    def keepalive_pong():
        client = h.TcpClient(server.port)
        client.send(b"\r\n\r\n")
        pong = client.recv_raw(5.0, size=2)
        check(pong == b"\r\n", f"CRLFCRLF ping answered with {pong!r}, wanted b'\\r\\n'")
        # The connection still carries SIP after the ping.
        text, call_id = raw_request(client)
        response = answer_to(client, text, call_id)
        check(response is not None and response.status == 200, f"OPTIONS after ping: {describe(response)}")
        client.close()

    def datagram_shorter_than_content_length():
        client = h.UdpClient(server.port)
        text, call_id = raw_request(client)
        text = text.replace("Content-Length: 0", "Content-Length: 500")
        response = answer_to(client, text, call_id)
        check(response is not None and response.status == 400, f"expected 400, got {describe(response)}")
        client.close()

    def torture_messages_do_not_kill():
        folder = os.path.join(os.environ.get("CPPBX_SHARED_DIR", os.path.join(h.HERE, "../../../shared")),
                              "torture", "rfc4475")
        files = sorted(f for f in os.listdir(folder) if f.endswith(".dat")) if os.path.isdir(folder) else []
        check(files, f"no torture messages found in {folder}")
        client = h.UdpClient(server.port)
        for name in files:
            with open(os.path.join(folder, name), "rb") as handle:
                client.send(handle.read())
        client.close()
        check(server.alive(), "cppbx died on the RFC 4475 torture messages")
        check(server.options_ping(), "no 200 to OPTIONS after the torture messages")

    return [
        ("UDP garbage: no crash", garbage("udp")),
        ("TCP garbage: no crash", garbage("tcp")),
        ("TCP unframeable stream is closed", tcp_garbage_closes_connection),
        ("UDP bad CSeq -> 400 naming CSeq", bad_cseq("udp")),
        ("TCP bad CSeq -> 400 naming CSeq", bad_cseq("tcp")),
        ("CSeq method mismatch -> 400", cseq_method_mismatch),
        ("UDP SIP/3.0 -> 505", bad_version("udp")),
        ("TCP SIP/3.0 -> 505", bad_version("tcp")),
        ("UDP unknown Require on REGISTER -> 420 + Unsupported", unknown_require("udp")),
        ("TCP unknown Require on REGISTER -> 420 + Unsupported", unknown_require("tcp")),
        ("Max-Forwards 0 to a user -> 483", max_forwards_zero),
        ("UDP OPTIONS to the server -> 200 with Allow/Accept/Supported", options_capabilities("udp")),
        ("TCP OPTIONS to the server -> 200 with Allow/Accept/Supported", options_capabilities("tcp")),
        ("TCP CRLFCRLF keep-alive -> CRLF", keepalive_pong),
        ("UDP Content-Length beyond the datagram -> 400", datagram_shorter_than_content_length),
        ("RFC 4475 torture messages: no crash", torture_messages_do_not_kill),
        ("server still answers OPTIONS", lambda: check(server.options_ping(), "no 200 to OPTIONS")),
        ("SIGTERM exits 0", server.stop),
    ]


def main():
    binary = h.binary_from_argv()
    h.run_suite(lambda: h.CppbxServer(binary, h.memory_backend_toml(USERS)), cases)


if __name__ == "__main__":
    main()
