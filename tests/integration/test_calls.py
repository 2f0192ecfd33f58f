"""Calls between registered users through the call module (issue 5).

Phones are tests/integration/phone.py (stdlib SIP over UDP/TCP); each case
checks what each side receives, and the call_records rows at the end.
"""

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

import harness as h
import ws_client
from harness import check, describe
from phone import Phone
from test_tls_ws import TlsClient, client_context, make_certificate

BENCH_CALLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "calls")
NO_ANSWER_SECONDS = 2

USERS = [("1001", "pw-1001"), ("1002", "pw-1002"), ("1003", "pw-1003"),
         ("1004", "pw-1004"), ("1005", "pw-1005"), ("1006", "pw-1006"),
         ("1007", "pw-1007"), ("1008", "pw-1008")]


def backends():
    text = h.memory_backend_toml(USERS)
    text += "\n[[proxy.user_backends.users]]\nusername = \"guest\"\npassword = \"pw-guest\"\n" \
            "allow_guest_calls = true\n"
    return text


def record_rows(server, call_id, timeout=5.0):
    def rows():
        connection = sqlite3.connect(server.path("cppbx.sqlite3"))
        try:
            return connection.execute(
                "SELECT caller, callee, answered_by, caller_transport, callee_transport,"
                " started_at, ringing_at, answered_at, ended_at, end_reason, status_code"
                " FROM call_records WHERE call_id = ?", (call_id,)).fetchall()
        finally:
            connection.close()
    return h.poll(rows, timeout)


def callee_invite(callee, call_id):
    """The INVITE of this call at the callee. Matched by Call-ID: over UDP
    the proxy retransmits an INVITE until the callee's provisional response
    reaches it, so on a loaded machine an earlier call's late copy may be
    waiting too (a phone absorbs it as a retransmission)."""
    invite = callee.request_arrives("INVITE", call_id=call_id)
    if invite is None:
        waiting = [(m.method or m.status, m.get("call-id")) for m in callee.backlog]
        check(False, f"callee got no INVITE for {call_id}; unmatched messages: {waiting}")
    return invite


def established_call(server, caller, callee, callee_name):
    """caller INVITEs callee_name; callee rings and answers; caller ACKs.
    Returns (call_id, caller dialog, callee dialog, invite cseq, invite seen by callee)."""
    call_id, _, from_tag, cseq = caller.invite(callee_name, wait_final=False)
    invite = callee_invite(callee, call_id)
    callee_dialog = callee.answer_invite(invite)
    ringing = caller.response_arrives(call_id, "INVITE", final=False)
    while ringing is not None and ringing.status == 100:
        ringing = caller.response_arrives(call_id, "INVITE", final=False)
    check(ringing is not None and ringing.status == 180, f"caller wanted 180, got {describe(ringing)}")
    ok = caller.response_arrives(call_id, "INVITE")
    check(ok is not None and ok.status == 200, f"caller wanted 200, got {describe(ok)}")
    dialog = caller.caller_dialog(ok, from_tag, cseq)
    caller.in_dialog(dialog, "ACK", invite_cseq=cseq)
    ack = callee.request_arrives("ACK", call_id=call_id)
    check(ack is not None, "callee got no ACK for the 200")
    return call_id, dialog, callee_dialog, invite


def hang_up(sender, dialog, receiver):
    sender.in_dialog(dialog, "BYE")
    bye = receiver.request_arrives("BYE", call_id=dialog.call_id)
    check(bye is not None and bye.get("call-id") == dialog.call_id, "BYE did not arrive")
    receiver.respond(bye, 200)
    ok = sender.response_arrives(dialog.call_id, "BYE")
    check(ok is not None and ok.status == 200, f"BYE answered {describe(ok)}")


def cases(server):
    phones = {}

    def phone(name, transport="UDP", tag="a"):
        password = dict(USERS + [("guest", "pw-guest")])[name]
        key = (name, transport, tag)
        if key not in phones:
            phones[key] = Phone(server, name, password, transport, tag)
            phones[key].register()
        return phones[key]

    def basic_call_bye_from_caller():
        caller, callee = phone("1001"), phone("1002")
        call_id, dialog, _, invite = established_call(server, caller, callee, "1002")
        check(len(invite.all("record-route")) == 1,
              f"one Record-Route wanted on a UDP-UDP call, got {invite.all('record-route')}")
        check(invite.get("max-forwards") == "69", f"Max-Forwards {invite.get('max-forwards')}")
        check(len(invite.all("via")) == 2, f"Via count {invite.all('via')}")
        check("received=" in invite.all("via")[1] or "rport=" in invite.all("via")[1],
              f"caller Via without rport/received: {invite.all('via')[1]}")
        hang_up(caller, dialog, callee)
        rows = record_rows(server, call_id)
        check(rows and len(rows) == 1, f"call_records rows {rows}")
        caller_uri, callee_uri, answered_by, caller_transport, callee_transport, started, ringing, \
            answered, ended, reason, status = rows[0]
        check(reason == "bye_caller" and status == 200, f"record {rows[0]}")
        check(started <= ringing <= answered <= ended, f"record times {rows[0]}")
        check("1001" in caller_uri and "1002" in callee_uri and "1002-a" in answered_by, f"record {rows[0]}")
        check(caller_transport == "udp" and callee_transport == "udp", f"record {rows[0]}")

    def bye_from_callee():
        caller, callee = phone("1001"), phone("1002")
        call_id, _, callee_dialog, _ = established_call(server, caller, callee, "1002")
        hang_up(callee, callee_dialog, caller)
        rows = record_rows(server, call_id)
        check(rows and rows[0][9] == "bye_callee", f"record {rows}")

    def cancel_while_ringing():
        caller, callee = phone("1001"), phone("1002")
        call_id, _, _, _ = caller.invite("1002", wait_final=False)
        invite = callee_invite(callee, call_id)
        callee.respond(invite, 180, "Ringing", to_tag="t1")
        ringing = caller.response_arrives(call_id, "INVITE", final=False)
        while ringing is not None and ringing.status == 100:
            ringing = caller.response_arrives(call_id, "INVITE", final=False)
        check(ringing is not None and ringing.status == 180, f"wanted 180, got {describe(ringing)}")
        caller.cancel()
        cancel = callee.request_arrives("CANCEL")
        check(cancel is not None and cancel.get("call-id") == call_id, "callee got no CANCEL")
        callee.respond(cancel, 200)
        callee.respond(invite, 487, "Request Terminated", to_tag="t1")
        final = caller.response_arrives(call_id, "INVITE")
        check(final is not None and final.status == 487, f"caller wanted 487, got {describe(final)}")
        rows = record_rows(server, call_id)
        check(rows and rows[0][9] == "cancelled" and rows[0][7] is None, f"record {rows}")

    def busy():
        caller, callee = phone("1001"), phone("1002")
        call_id, _, _, _ = caller.invite("1002", wait_final=False)
        invite = callee_invite(callee, call_id)
        callee.answer_invite(invite, status=486, ringing=False)
        ack = callee.request_arrives("ACK", timeout=3, call_id=call_id)
        check(ack is not None, "the proxy did not ACK the 486")
        final = caller.response_arrives(call_id, "INVITE")
        check(final is not None and final.status == 486, f"caller wanted 486, got {describe(final)}")
        rows = record_rows(server, call_id)
        check(rows and rows[0][9] == "failed" and rows[0][10] == 486, f"record {rows}")

    def unknown_user_404():
        caller = phone("1001")
        _, final, _, _ = caller.invite("7777")
        check(final is not None and final.status == 404, f"wanted 404, got {describe(final)}")

    def offline_user_480():
        caller = phone("1001")
        _, final, _, _ = caller.invite("1006")
        check(final is not None and final.status == 480, f"wanted 480, got {describe(final)}")

    def unregistered_caller_refused():
        caller = Phone(server, "1005", "pw-1005")
        try:
            phone("1002")
            _, final, _, _ = caller.invite("1002")
            check(final is not None and final.status == 403, f"wanted 403, got {describe(final)}")
        finally:
            caller.close()

    def guest_caller_allowed():
        guest = Phone(server, "guest", "pw-guest")
        try:
            callee = phone("1002")
            call_id, dialog, _, _ = established_call(server, guest, callee, "1002")
            hang_up(guest, dialog, callee)
        finally:
            guest.close()

    def wrong_password_403():
        caller = phone("1001")
        _, final, _, _ = caller.invite("1002", password="not-it")
        check(final is not None and final.status == 403, f"wanted 403, got {describe(final)}")

    def two_bindings_one_answers():
        caller = phone("1003")
        desk, mobile = phone("1004", tag="desk"), phone("1004", tag="mobile")
        call_id, _, from_tag, cseq = caller.invite("1004", wait_final=False)
        desk_invite = desk.request_arrives("INVITE", call_id=call_id)
        mobile_invite = mobile.request_arrives("INVITE", call_id=call_id)
        check(desk_invite is not None and mobile_invite is not None, "both bindings must get the INVITE")
        mobile.respond(mobile_invite, 180, "Ringing", to_tag="m1")
        desk.answer_invite(desk_invite)
        cancel = mobile.request_arrives("CANCEL")
        check(cancel is not None and cancel.get("call-id") == call_id, "the other branch was not cancelled")
        mobile.respond(cancel, 200)
        mobile.respond(mobile_invite, 487, "Request Terminated", to_tag="m1")
        ok = caller.response_arrives(call_id, "INVITE")
        check(ok is not None and ok.status == 200, f"caller wanted 200, got {describe(ok)}")
        check("desk" in ok.get("contact", ""), f"answered by {ok.get('contact')}")
        dialog = caller.caller_dialog(ok, from_tag, cseq)
        caller.in_dialog(dialog, "ACK", invite_cseq=cseq)
        check(desk.request_arrives("ACK", call_id=call_id) is not None, "desk got no ACK")
        hang_up(caller, dialog, desk)

    def udp_to_tcp_two_record_routes():
        caller, callee = phone("1001"), phone("1003", "TCP")
        call_id, dialog, callee_dialog, invite = established_call(server, caller, callee, "1003")
        routes = invite.all("record-route")
        check(len(routes) == 2 and "transport=tcp" in routes[0] and "transport=tcp" not in routes[1],
              f"two Record-Route entries wanted (tcp facing the callee first), got {routes}")
        hang_up(callee, callee_dialog, caller)
        rows = record_rows(server, call_id)
        check(rows and rows[0][3] == "udp" and rows[0][4] == "tcp", f"record transports {rows}")

    def forged_in_dialog_request_refused():
        caller, callee = phone("1001"), phone("1002")
        call_id, dialog, _, _ = established_call(server, caller, callee, "1002")
        # The route's flows altered to point elsewhere: the MAC no longer
        # matches, so the proxy must not forward the request.
        real = dialog.route_set[0]
        forged = real.replace("ef=u~127.0.0.1~", "ef=u~127.0.0.2~")
        check(forged != real, f"route has no callee flow to alter: {real}")
        dialog.route_set = [forged]
        caller.in_dialog(dialog, "BYE")
        response = caller.response_arrives(call_id, "BYE")
        check(response is not None and response.status == 481, f"wanted 481, got {describe(response)}")
        dialog.route_set = [real]
        hang_up(caller, dialog, callee)

    def websocket_on_the_http_port():
        """RFC 7118 at proxy.ws_handler on http_addr, beside ws_port."""
        browser = Phone(server, "1006", "pw-1006", tag="http-ws",
                        client=ws_client.SipWebSocketClient(f"ws://{h.LOOPBACK}:{server.http_port}/ws"))
        try:
            browser.register()
            callee = phone("1002")
            call_id, dialog, _, _ = established_call(server, browser, callee, "1002")
            hang_up(browser, dialog, callee)
            rows = record_rows(server, call_id)
            check(rows and rows[0][3] == "ws" and rows[0][9] == "bye_caller", f"record {rows}")
        finally:
            browser.close()

    def no_answer_408():
        caller, callee = phone("1001"), phone("1002")
        call_id, _, _, _ = caller.invite("1002", wait_final=False)
        invite = callee.request_arrives("INVITE", call_id=call_id)
        check(invite is not None, "callee got no INVITE")
        callee.respond(invite, 180, "Ringing", to_tag="n1")
        started = time.monotonic()
        cancel = callee.request_arrives("CANCEL", timeout=NO_ANSWER_SECONDS + 5, call_id=call_id)
        check(cancel is not None, "the unanswered branch was not cancelled")
        callee.respond(cancel, 200)
        callee.respond(invite, 487, "Request Terminated", to_tag="n1")
        final = caller.response_arrives(call_id, "INVITE", timeout=5)
        waited = time.monotonic() - started
        check(final is not None and final.status == 408, f"caller wanted 408, got {describe(final)}")
        check(NO_ANSWER_SECONDS - 0.5 <= waited <= NO_ANSWER_SECONDS + 3, f"no answer after {waited:.1f}s")
        rows = record_rows(server, call_id)
        check(rows and rows[0][9] == "failed" and rows[0][10] == 408, f"record {rows}")

    def sipp_caller_and_callee():
        """SIPp on both sides (the benchmark's scenarios): the callee is
        registered from the port its SIPp then listens on."""
        callee_port = h.free_port()
        registrar_side = h.UdpClient(server.port, local_port=callee_port)
        callee = h.SipUser(registrar_side, "1008", "pw-1008")
        response = callee.register([f"<sip:1008@{h.LOOPBACK}:{callee_port}>"], expires=300)
        registrar_side.close()
        check(response is not None and response.status == 200, f"callee REGISTER {describe(response)}")
        phone("1007")  # the caller is registered
        uas = subprocess.Popen(
            ["sipp", "-sf", os.path.join(BENCH_CALLS, "uas.xml"), "-i", h.LOOPBACK, "-p", str(callee_port),
             "-t", "u1", "-d", "100", "-m", "5", "-nostdin", "-timeout", "40s"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=server.dir)
        try:
            csv = server.path("sipp-callers.csv")
            h.write_users_csv(csv, [["1007", h.auth_field("1007", "pw-1007")]])
            result = h.run_sipp(server.port, os.path.join(BENCH_CALLS, "uac.xml"), csv, 5, server.dir,
                                rate=5, extra=["-d", "200", "-s", "1008",
                                               "-auth_uri", f"1008@{h.LOOPBACK}:{server.port}"])
            check(result.code == 0 and result.successful == 5 and result.failed == 0,
                  "5 SIPp calls wanted\n" + result.describe())
            check(uas.wait(timeout=20) == 0, f"SIPp callee exited with {uas.returncode}")
        finally:
            if uas.poll() is None:
                uas.kill()
                uas.wait()

    def tcp_to_tls_two_record_routes():
        caller = phone("1001", "TCP")
        callee = Phone(server, "1005", "pw-1005", tag="tls",
                       client=TlsClient(server.tls_port, client_context(server.certificate)))
        try:
            callee.register()
            call_id, dialog, callee_dialog, invite = established_call(server, caller, callee, "1005")
            routes = invite.all("record-route")
            check(len(routes) == 2 and routes[0].startswith("<sips:") and "transport=tcp" in routes[1],
                  f"a sips: entry facing the TLS callee, then a tcp one, wanted; got {routes}")
            check(invite.all("via")[0].startswith("SIP/2.0/TLS"), f"top Via {invite.all('via')[0]}")
            hang_up(caller, dialog, callee)
            rows = record_rows(server, call_id)
            check(rows and rows[0][3] == "tcp" and rows[0][4] == "tls", f"record transports {rows}")
        finally:
            callee.close()

    def websocket_caller_to_udp_callee():
        browser = Phone(server, "1006", "pw-1006", tag="ws",
                        client=ws_client.SipWebSocketClient(f"ws://{h.LOOPBACK}:{server.ws_port}/ws"))
        try:
            browser.register()
            callee = phone("1002")
            call_id, dialog, callee_dialog, invite = established_call(server, browser, callee, "1002")
            routes = invite.all("record-route")
            check(len(routes) == 2 and "transport=ws" in routes[1], f"Record-Route {routes}")
            hang_up(callee, callee_dialog, browser)
            rows = record_rows(server, call_id)
            check(rows and rows[0][3] == "ws" and rows[0][4] == "udp" and rows[0][9] == "bye_callee",
                  f"record {rows}")
        finally:
            browser.close()

    def close_all():
        for each in phones.values():
            each.close()
        server.stop()

    return [
        ("basic call, BYE from the caller, call record", basic_call_bye_from_caller),
        ("BYE from the callee", bye_from_callee),
        ("CANCEL while ringing -> 487, callee cancelled", cancel_while_ringing),
        ("486 busy forwarded, ACKed by the proxy", busy),
        ("unknown user -> 404", unknown_user_404),
        ("known user without binding -> 480", offline_user_480),
        ("caller not registered -> 403", unregistered_caller_refused),
        ("allow_guest_calls user may call unregistered", guest_caller_allowed),
        ("wrong password at the INVITE challenge -> 403", wrong_password_403),
        ("two bindings: one answers, the other is cancelled", two_bindings_one_answers),
        ("UDP caller to TCP callee: two Record-Route entries", udp_to_tcp_two_record_routes),
        ("in-dialog BYE with a forged route -> 481", forged_in_dialog_request_refused),
        ("TCP caller to TLS callee: sips: and tcp Record-Route", tcp_to_tls_two_record_routes),
        ("WebSocket caller to UDP callee", websocket_caller_to_udp_callee),
        ("WebSocket caller through the HTTP listener's ws_handler", websocket_on_the_http_port),
        ("no answer within no_answer_timeout -> 408, branch cancelled", no_answer_408),
        ("SIPp caller and SIPp callee: 5 calls", sipp_caller_and_callee),
        ("SIGTERM exits 0", close_all),
    ]


class CallServer(h.CppbxServer):
    """cppbx with UDP, TCP, TLS (a certificate made for the test) and WS."""

    def __init__(self, binary):
        self.tls_port, self.ws_port = h.free_port(), h.free_port()
        self.certificate_dir = tempfile.mkdtemp(prefix="cppbx-calls-cert-")
        self.certificate, key = make_certificate(self.certificate_dir)
        with open(self.certificate) as certificate, open(key) as private_key:
            files = {"cert.pem": certificate.read(), "key.pem": private_key.read()}
        super().__init__(binary, backends(), files=files, proxy={
            "auth_algorithms": '["MD5"]', "no_answer_timeout": str(NO_ANSWER_SECONDS),
            "tls_port": str(self.tls_port), "ws_port": str(self.ws_port),
            "ssl_certificate": '"cert.pem"', "ssl_private_key": '"key.pem"'})

    def __exit__(self, *exc):
        try:
            return super().__exit__(*exc)
        finally:
            shutil.rmtree(self.certificate_dir, ignore_errors=True)


def main():
    binary = sys.argv[1]
    failed = h.run_suite_no_exit(lambda: CallServer(binary), cases)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
