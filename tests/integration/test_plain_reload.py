"""The plain user file (username:password lines) is re-read on SIGHUP and
when the file changes, without a restart.

Each phase rewrites users.txt, then polls a full REGISTER until the new
state is visible, with a generous deadline (the backend may stat the file at
most once a second). The mtime is pushed forward explicitly so a rewrite in
the same second as the previous one still counts as a change.
"""

import os
import time

import harness as h
from harness import check

FIRST = "# start-up users\n3001:alpha-pass\n3002 : bravo-pass\n\n"


def status_of(server, name, password):
    client = h.UdpClient(server.port)
    try:
        response = h.SipUser(client, name, password).register(
            [f"<sip:{name}@{h.LOOPBACK}:{client.port}>"], expires=120)
        return response.status if response is not None else None
    finally:
        client.close()


def rewrite(server, text, bump):
    path = server.path("users.txt")
    with open(path, "w") as handle:
        handle.write(text)
    later = time.time() + bump
    os.utime(path, (later, later))


def eventually(server, name, password, wanted, timeout=10):
    seen = h.poll(lambda: status_of(server, name, password) == wanted, timeout, interval=0.3)
    check(seen, f"{name} never got {wanted} (last {status_of(server, name, password)}) within {timeout}s")


def cases(server):
    def initial_users():
        check(status_of(server, "3001", "alpha-pass") == 200, "3001 from users.txt cannot register")
        check(status_of(server, "3002", "bravo-pass") == 200, "3002 (spaces around ':') cannot register")
        check(status_of(server, "3003", "charlie-pass") == 403, "3003 not in the file yet is not refused")

    def sighup_reload():
        rewrite(server, "3001:alpha-pass\n3003:charlie-pass\n", bump=2)
        server.reload()
        eventually(server, "3003", "charlie-pass", 200)
        eventually(server, "3002", "bravo-pass", 403)
        check(server.alive(), "cppbx died on SIGHUP")

    def sighup_keeps_registrations():
        # 3001 registered in initial_users and again in sighup_reload's polls;
        # a reload swaps the user backends only, never the bindings.
        client = h.UdpClient(server.port)
        try:
            before = h.SipUser(client, "3001", "alpha-pass").query()
            check(before, "3001 has no binding before the SIGHUP")
            reloads = server.log_text().count("SIGHUP")
            server.reload()
            check(h.poll(lambda: server.log_text().count("SIGHUP") > reloads, 10, interval=0.1),
                  "the SIGHUP was not logged")
            after = h.SipUser(client, "3001", "alpha-pass").query()
            check([h.contact_uri(c) for c in after] == [h.contact_uri(c) for c in before],
                  f"bindings changed across SIGHUP: {before} -> {after}")
        finally:
            client.close()

    def changed_password():
        rewrite(server, "3001:new-alpha\n3003:charlie-pass\n", bump=4)
        server.reload()
        eventually(server, "3001", "new-alpha", 200)
        check(status_of(server, "3001", "alpha-pass") == 403, "old password still accepted")

    def file_change_without_signal():
        rewrite(server, "3001:new-alpha\n3003:charlie-pass\n3004:delta-pass\n", bump=6)
        eventually(server, "3004", "delta-pass", 200, timeout=15)

    def malformed_line_skipped():
        rewrite(server, "3001:new-alpha\nthis line has no colon\n3005:echo-pass\n", bump=8)
        server.reload()
        eventually(server, "3005", "echo-pass", 200)
        check(status_of(server, "3001", "new-alpha") == 200, "user before a malformed line lost")

    def password_not_logged():
        log = server.log_text()
        for secret in ("alpha-pass", "bravo-pass", "charlie-pass", "new-alpha", "delta-pass", "echo-pass"):
            check(secret not in log, f"password {secret!r} appears in the log")

    return [
        ("users from users.txt register", initial_users),
        ("SIGHUP: added user registers, removed user gets 403", sighup_reload),
        ("SIGHUP keeps registrations", sighup_keeps_registrations),
        ("SIGHUP: changed password takes effect", changed_password),
        ("file change picked up without a signal", file_change_without_signal),
        ("malformed line skipped, others kept", malformed_line_skipped),
        ("no password in the log", password_not_logged),
        ("server still answers OPTIONS", lambda: check(server.options_ping(), "no 200 to OPTIONS")),
        ("SIGTERM exits 0", server.stop),
    ]


def main():
    binary = h.binary_from_argv()
    backends = '[[proxy.user_backends]]\ntype = "plain"\npath = "users.txt"\n'
    h.run_suite(lambda: h.CppbxServer(binary, backends, files={"users.txt": FIRST},
                                      proxy={"auth_algorithms": h.toml_list(["SHA-256", "MD5"])},
                                      log_level="debug"),
                cases)


if __name__ == "__main__":
    main()
