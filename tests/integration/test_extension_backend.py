"""The extension backend end to end: `cppbx extension ...` (another process)
manages the extensions table of the SQLite file a running cppbx uses, and
SIP clients register against it.

The CLI cannot invalidate the server's cache (different process), so a
change made with it reaches the server when the cached entry's ttl runs out:
the server runs with ttl = TTL seconds, and each change is expected to be
visible within TTL plus a margin (and, for disable, not sooner than the cache
allows is not asserted: an entry may be near expiry already).
"""

import re
import subprocess
import time

import harness as h
from harness import check

TTL = 2
MARGIN = 3  # scheduling slack on a shared 2-core machine

EXIT_OK, EXIT_INVALID, EXIT_NOT_FOUND, EXIT_EXISTS = 0, 2, 3, 4


def cli(server, *args, stdin=None):
    """Runs `cppbx extension ...` against the server's configuration."""
    return subprocess.run([server.binary, "extension", *args, "--conf", server.path("cppbx.toml")],
                          capture_output=True, text=True, cwd=server.dir, input=stdin, timeout=30)


def status_of(server, name, password):
    client = h.UdpClient(server.port)
    try:
        response = h.SipUser(client, name, password).register(
            [f"<sip:{name}@{h.LOOPBACK}:{client.port}>"], expires=120)
        return response.status if response is not None else None
    finally:
        client.close()


def within_ttl(server, name, password, wanted):
    """Polls until REGISTER gets `wanted`; fails if that takes longer than
    the ttl allows. Returns the seconds it took."""
    started = time.monotonic()
    seen = h.poll(lambda: status_of(server, name, password) == wanted, TTL + MARGIN, interval=0.2)
    took = time.monotonic() - started
    check(seen, f"{name}: no {wanted} within ttl {TTL}s + {MARGIN}s "
                f"(last {status_of(server, name, password)})")
    return took


def cases(server):
    secrets_seen = []

    def add_with_password():
        out = cli(server, "add", "2001", "--password", "alpha-secret-1", "--display-name", "Alice")
        check(out.returncode == EXIT_OK, f"add failed rc={out.returncode}: {out.stderr}")
        check("alpha-secret-1" not in out.stdout + out.stderr, "a given password was printed")
        secrets_seen.append("alpha-secret-1")
        check(status_of(server, "2001", "alpha-secret-1") == 200, "2001 cannot register")
        check(status_of(server, "2001", "wrong-password") == 403, "2001 with a wrong password not refused")

    def add_with_generated_password():
        out = cli(server, "add", "2002")
        check(out.returncode == EXIT_OK, f"add failed rc={out.returncode}: {out.stderr}")
        found = re.search(r"shown once\): (\S+)", out.stdout)
        check(found, f"no generated password printed: {out.stdout!r}")
        password = found.group(1)
        check(len(password) >= 16, f"generated password too short: {len(password)}")
        secrets_seen.append(password)
        check(status_of(server, "2002", password) == 200, "2002 cannot register with its generated password")

    def add_from_stdin():
        out = cli(server, "add", "2003", "--password-stdin", stdin="stdin-secret-3\n")
        check(out.returncode == EXIT_OK, f"add failed rc={out.returncode}: {out.stderr}")
        check("stdin-secret-3" not in out.stdout + out.stderr, "a given password was printed")
        secrets_seen.append("stdin-secret-3")
        check(status_of(server, "2003", "stdin-secret-3") == 200, "2003 cannot register")

    def clear_errors():
        out = cli(server, "add", "2001", "--password", "other-secret")
        check(out.returncode == EXIT_EXISTS and "already exists" in out.stderr,
              f"duplicate: rc={out.returncode} {out.stderr!r}")
        out = cli(server, "add", "20 01", "--password", "other-secret")
        check(out.returncode == EXIT_INVALID and "extension may only hold" in out.stderr,
              f"invalid name: rc={out.returncode} {out.stderr!r}")
        for action in ("remove", "enable", "disable"):
            out = cli(server, action, "2999")
            check(out.returncode == EXIT_NOT_FOUND and "unknown extension 2999" in out.stderr,
                  f"{action} unknown: rc={out.returncode} {out.stderr!r}")
        out = cli(server, "passwd", "2999", "--password", "other-secret")
        check(out.returncode == EXIT_NOT_FOUND, f"passwd unknown: rc={out.returncode}")
        check(status_of(server, "2001", "alpha-secret-1") == 200, "the duplicate add changed 2001")

    def list_shows_no_password():
        out = cli(server, "list")
        check(out.returncode == EXIT_OK, f"list failed: {out.stderr}")
        for name in ("2001", "2002", "2003"):
            check(re.search(rf"^{name}\s+enabled", out.stdout, re.M), f"{name} not listed:\n{out.stdout}")
        check("Alice" in out.stdout, "display name not listed")
        for secret in secrets_seen:
            check(secret not in out.stdout + out.stderr, "list printed a password")

    def disable_reaches_server_within_ttl():
        check(status_of(server, "2001", "alpha-secret-1") == 200, "2001 not registering before disable")
        out = cli(server, "disable", "2001")
        check(out.returncode == EXIT_OK, f"disable failed: {out.stderr}")
        within_ttl(server, "2001", "alpha-secret-1", 403)
        check("user disabled" in server.log_text(), "the 403 was not logged as a disabled user")
        out = cli(server, "list")
        check(re.search(r"^2001\s+disabled", out.stdout, re.M), f"list does not show 2001 disabled:\n{out.stdout}")

    def enable_reaches_server_within_ttl():
        out = cli(server, "enable", "2001")
        check(out.returncode == EXIT_OK, f"enable failed: {out.stderr}")
        within_ttl(server, "2001", "alpha-secret-1", 200)

    def passwd_reaches_server_within_ttl():
        out = cli(server, "passwd", "2001", "--password", "alpha-secret-2")
        check(out.returncode == EXIT_OK, f"passwd failed: {out.stderr}")
        check("alpha-secret-2" not in out.stdout + out.stderr, "a given password was printed")
        secrets_seen.append("alpha-secret-2")
        within_ttl(server, "2001", "alpha-secret-2", 200)
        check(status_of(server, "2001", "alpha-secret-1") == 403, "the old password still works")

    def remove_reaches_server_within_ttl():
        check(status_of(server, "2003", "stdin-secret-3") == 200, "2003 not registering before remove")
        out = cli(server, "remove", "2003")
        check(out.returncode == EXIT_OK, f"remove failed: {out.stderr}")
        within_ttl(server, "2003", "stdin-secret-3", 403)
        out = cli(server, "list")
        check(not re.search(r"^2003\s", out.stdout, re.M), f"2003 still listed:\n{out.stdout}")

    def added_while_running_after_a_cached_miss():
        check(status_of(server, "2004", "delta-secret") == 403, "2004 registered before it existed")
        out = cli(server, "add", "2004", "--password", "delta-secret")
        check(out.returncode == EXIT_OK, f"add failed: {out.stderr}")
        secrets_seen.append("delta-secret")
        within_ttl(server, "2004", "delta-secret", 200)

    def no_password_in_the_log():
        log = server.log_text()
        for secret in secrets_seen:
            check(secret not in log, "a password appears in the server log")

    return [
        ("add --password, then REGISTER 200", add_with_password),
        ("add without a password prints a generated one that registers", add_with_generated_password),
        ("add --password-stdin", add_from_stdin),
        ("duplicate, invalid name and unknown extension: clear errors and exit codes", clear_errors),
        ("list shows extensions but no password", list_shows_no_password),
        (f"disable by CLI: 403 within ttl ({TTL}s)", disable_reaches_server_within_ttl),
        ("enable by CLI: 200 again within ttl", enable_reaches_server_within_ttl),
        ("passwd by CLI: new password within ttl, old refused", passwd_reaches_server_within_ttl),
        ("remove by CLI: 403 within ttl", remove_reaches_server_within_ttl),
        ("a cached miss turns into a user within ttl", added_while_running_after_a_cached_miss),
        ("no password in the log", no_password_in_the_log),
        ("server still answers OPTIONS", lambda: check(server.options_ping(), "no 200 to OPTIONS")),
        ("SIGTERM exits 0", server.stop),
    ]


def main():
    binary = h.binary_from_argv()
    backends = f'[[proxy.user_backends]]\ntype = "extension"\nttl = {TTL}\n'
    h.run_suite(lambda: h.CppbxServer(binary, backends,
                                      proxy={"auth_algorithms": h.toml_list(["SHA-256", "MD5"])}),
                cases)


if __name__ == "__main__":
    main()
