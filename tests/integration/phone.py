"""A minimal SIP phone for call tests: registers, places and answers calls,
and sends in-dialog requests along the route set, over UDP or TCP.

Only what the proxy under test needs to see from a real phone: digest
answers to 401/407, ACK for every final response, Record-Route turned into
a route set (reversed on the caller's side, RFC 3261 12.1), the remote
Contact as target of in-dialog requests.
"""

import secrets
import time

import harness as h
from harness import check, describe

REASONS = {200: "OK", 486: "Busy Here", 603: "Decline", 480: "Temporarily Unavailable"}

SDP = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
       "t=0 0\r\nm=audio 40000 RTP/AVP 0\r\n")


class Dialog:
    def __init__(self, call_id, local_uri, local_tag, remote_uri, remote_tag,
                 target, route_set, cseq):
        self.call_id = call_id
        self.local_uri, self.local_tag = local_uri, local_tag
        self.remote_uri, self.remote_tag = remote_uri, remote_tag
        self.target = target
        self.route_set = route_set
        self.cseq = cseq


class Phone:
    def __init__(self, server, username, password, transport="UDP", tag="a", client=None):
        """`client`: any harness-style client (UDP, TCP, TLS, WebSocket)."""
        self.server = server
        if client is None:
            client = h.UdpClient(server.port) if transport == "UDP" else h.TcpClient(server.port)
        self.client = client
        self.user = h.SipUser(self.client, username, password)
        self.username, self.password = username, password
        self.tag = tag
        self.backlog = []

    def close(self):
        self.client.close()

    @property
    def contact_uri(self):
        uri = f"sip:{self.username}-{self.tag}@{h.LOOPBACK}:{self.client.port}"
        if self.client.transport != "UDP":
            uri += ";transport=" + ("ws" if self.client.transport.startswith("WS") else self.client.transport.lower())
        return uri

    def register(self, expires=300):
        response = self.user.register([f"<{self.contact_uri}>"], expires=expires)
        check(response is not None and response.status == 200,
              f"{self.username} REGISTER: {describe(response)}")

    # -- receiving -------------------------------------------------------

    def next_message(self, predicate, timeout=5.0):
        for index, message in enumerate(self.backlog):
            if predicate(message):
                return self.backlog.pop(index)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            message = self.client.recv(remaining)
            if message is None:
                return None
            if predicate(message):
                return message
            self.backlog.append(message)

    def request_arrives(self, method, timeout=5.0, call_id=None):
        return self.next_message(
            lambda m: not m.is_response and m.method == method
            and (call_id is None or m.get("call-id") == call_id), timeout)

    def response_arrives(self, call_id, method, timeout=5.0, final=True):
        def matches(m):
            return (m.is_response and m.get("call-id") == call_id
                    and m.get("cseq", "").split()[-1] == method
                    and (m.status >= 200 if final else True))
        return self.next_message(matches, timeout)

    # -- answering -------------------------------------------------------

    def respond(self, request, status, reason="OK", to_tag=None, body="", extra=()):
        lines = [f"SIP/2.0 {status} {reason}"]
        lines += [f"Via: {via}" for via in request.all("via")]
        for name in ("record-route",):
            lines += [f"Record-Route: {value}" for value in request.all(name)]
        lines.append(f"From: {request.get('from')}")
        to = request.get("to")
        if to_tag and ";tag=" not in to:
            to += f";tag={to_tag}"
        lines.append(f"To: {to}")
        lines.append(f"Call-ID: {request.get('call-id')}")
        lines.append(f"CSeq: {request.get('cseq')}")
        if status < 300 and request.method == "INVITE":
            lines.append(f"Contact: <{self.contact_uri}>")
        lines += [f"{name}: {value}" for name, value in extra]
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body.encode())}")
        self.client.send("\r\n".join(lines) + "\r\n\r\n" + body)

    def answer_invite(self, invite, status=200, ringing=True):
        """Answers a received INVITE; returns the callee's dialog for 2xx."""
        tag = h.new_tag()
        if ringing:
            self.respond(invite, 180, "Ringing", to_tag=tag)
        self.respond(invite, status, REASONS.get(status, "Answer"),
                     to_tag=tag, body=SDP if status < 300 else "")
        if status >= 300:
            return None
        return Dialog(invite.get("call-id"), invite.get("to"), tag, invite.get("from"),
                      tag_of(invite.get("from")), h.contact_uri(invite.get("contact")),
                      list(invite.all("record-route")), 0)

    # -- calling ---------------------------------------------------------

    def invite(self, callee, password=None, extra=(), wait_final=True, timeout=10.0):
        """INVITE sip:callee@domain, answering the 407 challenge. Returns
        (call_id, final response or None, from_tag, cseq)."""
        call_id = secrets.token_hex(8) + "@phone"
        from_tag = h.new_tag()
        request_uri = f"sip:{callee}@{h.LOOPBACK}"
        cseq = 1
        headers = [("Contact", f"<{self.contact_uri}>"), ("Content-Type", "application/sdp")] + list(extra)
        self._send_invite(request_uri, call_id, from_tag, cseq, headers)
        first = self.response_arrives(call_id, "INVITE", timeout)
        if first is not None and first.status == 407:
            self._ack_failure(first, request_uri, call_id, from_tag, cseq)
            challenge = h.pick_challenge(first, "MD5")
            auth = h.authorization_header(challenge, self.username,
                                          self.password if password is None else password,
                                          "INVITE", request_uri)
            cseq += 1
            self._send_invite(request_uri, call_id, from_tag, cseq,
                              headers + [("Proxy-Authorization", auth)])
            if not wait_final:
                return call_id, None, from_tag, cseq
            first = self.response_arrives(call_id, "INVITE", timeout)
        return call_id, first, from_tag, cseq

    def _send_invite(self, request_uri, call_id, from_tag, cseq, headers):
        self.last_invite = dict(request_uri=request_uri, call_id=call_id, from_tag=from_tag,
                                cseq=cseq, branch=h.new_branch())
        self.client.send(h.build_request(
            "INVITE", request_uri, via_host=h.LOOPBACK, via_port=self.client.port,
            transport=self.client.transport, from_uri=self.user.aor,
            to_uri=request_uri, call_id=call_id, cseq=cseq, from_tag=from_tag,
            headers=headers, body=SDP, branch=self.last_invite["branch"]))

    def _ack_failure(self, response, request_uri, call_id, from_tag, cseq):
        """ACK for a non-2xx final: same branch as the INVITE (17.1.1.3)."""
        lines = [f"ACK {request_uri} SIP/2.0",
                 f"Via: SIP/2.0/{self.client.transport} {h.LOOPBACK}:{self.client.port};"
                 f"branch={self.last_invite['branch']};rport",
                 "Max-Forwards: 70", f"From: <{self.user.aor}>;tag={from_tag}",
                 f"To: {response.get('to')}", f"Call-ID: {call_id}", f"CSeq: {cseq} ACK",
                 "Content-Length: 0"]
        self.client.send("\r\n".join(lines) + "\r\n\r\n")

    def cancel(self):
        """CANCEL the last INVITE sent (RFC 3261 9.1)."""
        last = self.last_invite
        lines = [f"CANCEL {last['request_uri']} SIP/2.0",
                 f"Via: SIP/2.0/{self.client.transport} {h.LOOPBACK}:{self.client.port};"
                 f"branch={last['branch']};rport",
                 "Max-Forwards: 70", f"From: <{self.user.aor}>;tag={last['from_tag']}",
                 f"To: <{last['request_uri']}>", f"Call-ID: {last['call_id']}",
                 f"CSeq: {last['cseq']} CANCEL", "Content-Length: 0"]
        self.client.send("\r\n".join(lines) + "\r\n\r\n")

    def caller_dialog(self, ok, from_tag, cseq):
        """The caller's dialog from the 2xx (route set = reversed Record-Route)."""
        return Dialog(ok.get("call-id"), f"<{self.user.aor}>;tag={from_tag}", from_tag,
                      ok.get("to"), tag_of(ok.get("to")), h.contact_uri(ok.get("contact")),
                      list(reversed(ok.all("record-route"))), cseq)

    def in_dialog(self, dialog, method, cseq=None, invite_cseq=None):
        """Sends an in-dialog request; ACK uses the INVITE's CSeq number."""
        if method == "ACK":
            number = invite_cseq
        else:
            dialog.cseq = max(dialog.cseq, 100) + 1
            number = dialog.cseq
        local = dialog.local_uri if ";tag=" in dialog.local_uri else f"{dialog.local_uri};tag={dialog.local_tag}"
        lines = [f"{method} {dialog.target} SIP/2.0",
                 f"Via: SIP/2.0/{self.client.transport} {h.LOOPBACK}:{self.client.port};"
                 f"branch={h.new_branch()};rport",
                 "Max-Forwards: 70"]
        lines += [f"Route: {route}" for route in dialog.route_set]
        lines += [f"From: {local}", f"To: {dialog.remote_uri}", f"Call-ID: {dialog.call_id}",
                  f"CSeq: {number} {method}", "Content-Length: 0"]
        self.client.send("\r\n".join(lines) + "\r\n\r\n")
        return number


def tag_of(header_value):
    for part in header_value.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "tag":
            return value
    return ""
