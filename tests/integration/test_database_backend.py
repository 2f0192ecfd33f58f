"""The database user backend end to end on a real PostgreSQL 15 server.

cppbx reads users from a table with custom column names (realm, enabled
flag, display name, HA1 column) on a PostgreSQL started by the test; SIP
clients register against it. Then PostgreSQL is stopped in the middle of the
run: REGISTER must get 503 with Retry-After (never 403, no crash), and once
PostgreSQL is back REGISTER succeeds again without restarting cppbx.
"""

import hashlib
import sys

import db_servers
import harness as h
from harness import check

REALM = h.LOOPBACK
INJECTIONS = ["1'OR'1'='1", "3001'--", "x';DROP+TABLE+sip_accounts;--"]


def md5_hex(text):
    return hashlib.md5(text.encode()).hexdigest()


def create_table(pg):
    pg.sql(f"""
        CREATE TABLE sip_accounts (
            uid SERIAL PRIMARY KEY,
            login TEXT NOT NULL,
            secret TEXT,
            domain TEXT,
            active BOOLEAN,
            full_name TEXT,
            digest CHAR(32));
        INSERT INTO sip_accounts (login, secret, domain, active, full_name, digest) VALUES
            ('3001', 'pw-3001', '{REALM}', TRUE, 'Alice', NULL),
            ('3002', 'pw-3002', '', FALSE, 'Disabled Bob', NULL),
            ('3003', NULL, '{REALM}', TRUE, 'Hash Only', '{md5_hex(f"3003:{REALM}:pw-3003")}'),
            ('3004', 'pw-3004', 'other.example.com', TRUE, 'Elsewhere', NULL),
            ('o''hara', 'pw-ohara', NULL, TRUE, 'Quote In Name', NULL);
    """)


def backend_toml(pg):
    return "\n".join([
        "[[proxy.user_backends]]",
        'type = "database"',
        f'url = "{pg.url}"',
        'table_name = "sip_accounts"',
        'id_column = "uid"',
        'username_column = "login"',
        'password_column = "secret"',
        'realm_column = "domain"',
        'enabled_column = "active"',
        'display_name_column = "full_name"',
        'ha1_column = "digest"',
        "timeout_ms = 2000",
        "pool_size = 2",
    ])


def register(server, name, password, algorithm="MD5"):
    client = h.UdpClient(server.port)
    try:
        user = h.SipUser(client, name, password)
        return user.register([user.contact()], expires=120, algorithm=algorithm)
    finally:
        client.close()


def status(response):
    return response.status if response is not None else None


def cases(server, pg):
    def custom_columns_md5_and_sha256():
        for algorithm in ("MD5", "SHA-256"):
            response = register(server, "3001", "pw-3001", algorithm)
            check(status(response) == 200, f"3001 with {algorithm}: {h.describe(response)}")

    def wrong_password_disabled_other_realm_refused():
        for name, password in (("3001", "wrong"), ("3002", "pw-3002"), ("3004", "pw-3004"),
                               ("nobody", "x")):
            response = register(server, name, password)
            check(status(response) == 403, f"{name}: expected 403, got {h.describe(response)}")

    def ha1_user_registers_with_md5_only():
        response = register(server, "3003", "pw-3003", "MD5")
        check(status(response) == 200, f"3003 with MD5: {h.describe(response)}")
        response = register(server, "3003", "pw-3003", "SHA-256")
        check(status(response) == 401, f"3003 answering SHA-256: {h.describe(response)}")
        offered = [c.get("algorithm", "MD5").upper() for c in h.challenges_of(response)]
        check(offered == ["MD5"], f"3003 re-challenged with {offered}")

    def unknown_user_answering_sha256_looks_like_an_ha1_user():
        response = register(server, "no-such-user", "x", "SHA-256")
        check(status(response) == 401, f"unknown SHA-256 answer: {h.describe(response)}")
        offered = [c.get("algorithm", "MD5").upper() for c in h.challenges_of(response)]
        check(offered == ["MD5"], f"unknown user re-challenged with {offered}")

    def injection_looking_usernames_do_nothing():
        for name in INJECTIONS:
            response = register(server, name, "x")
            check(status(response) == 403,
                  f"{name!r}: expected a refusal, got {h.describe(response)}")
        rows = pg.sql("SELECT count(*) FROM sip_accounts").strip()
        check(rows == "5", f"sip_accounts has {rows} rows after the injection attempts")
        response = register(server, "o'hara", "pw-ohara")
        check(status(response) == 200, f"o'hara: {h.describe(response)}")

    def database_outage_gives_503_then_recovers():
        check(status(register(server, "3001", "pw-3001")) == 200, "3001 before the outage")
        pg.stop()
        for _ in range(3):
            response = register(server, "3001", "pw-3001")
            check(status(response) == 503, f"with PostgreSQL down: {h.describe(response)}")
            check(response.get("retry-after"), f"503 without Retry-After:\n{response}")
        check(server.alive(), "cppbx died while PostgreSQL was down")
        warnings = server.log_text().count("the user backends could not answer")
        check(warnings == 1, f"{warnings} outage warnings for 3 refused requests (wanted one per 10 s)")
        pg.start()
        recovered = h.poll(lambda: status(register(server, "3001", "pw-3001")) == 200, 15,
                           interval=0.3)
        check(recovered, "REGISTER did not succeed again after PostgreSQL came back")
        check(status(register(server, "3003", "pw-3003")) == 200, "3003 after the outage")
        check(server.alive(), "cppbx not running after the outage")

    def no_password_in_the_log():
        text = server.log_text()
        for secret in (pg.password, pg.url.split(":")[2].split("@")[0], "pw-3001"):
            check(secret not in text, "a password appears in the cppbx log")

    return [
        ("custom columns, MD5 and SHA-256", custom_columns_md5_and_sha256),
        ("wrong password, disabled, other realm, unknown: 403", wrong_password_disabled_other_realm_refused),
        ("HA1 user registers with MD5, SHA-256 gets MD5 alone", ha1_user_registers_with_md5_only),
        ("unknown user answering SHA-256 looks like an HA1 user", unknown_user_answering_sha256_looks_like_an_ha1_user),
        ("injection-looking usernames change nothing", injection_looking_usernames_do_nothing),
        ("PostgreSQL stopped: 503 + Retry-After, then recovery", database_outage_gives_503_then_recovers),
        ("no password in the log", no_password_in_the_log),
    ]


def main():
    binary = h.binary_from_argv()
    if not db_servers.PostgresServer.available():
        print(f"SKIP: {db_servers.PostgresServer.missing_message()}")
        sys.exit(0)
    with db_servers.PostgresServer() as pg:
        create_table(pg)
        failed = h.run_suite_no_exit(
            lambda: h.CppbxServer(binary, backend_toml(pg)),
            lambda server: cases(server, pg))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
