"""All five user backend types in one chain, each with a real source behind it.

The chain is, in order: memory (users in the TOML), database (a table on a
PostgreSQL 15 server started here), http (the FastAPI example service),
plain (a username:password file) and extension (the extensions table of the
server's own SQLite database, filled with `cppbx extension add`). One user
lives in each; every one registers through SIPp with digest MD5. A username
present in two backends with different passwords is answered by the first
backend that holds it, so only the first backend's password works.
"""

import os
import subprocess
import sys

import db_servers
import harness as h
from harness import check
from services import Service

MEMORY_USER = ("5001", "memory-pass")
DATABASE_USER = ("5002", "database-pass")
HTTP_USER = ("1001", "secret-password")  # known to fastapi_example.py
PLAIN_USER = ("5004", "plain-pass")
EXTENSION_USER = ("5005", "extension-pass")
# In memory (first) and in the database (second) with different passwords.
SHARED_NAME = "5006"
SHARED_MEMORY_PASSWORD = "shared-in-memory"
SHARED_DATABASE_PASSWORD = "shared-in-database"


def create_table(pg):
    pg.sql(f"""
        CREATE TABLE users (id SERIAL PRIMARY KEY, username TEXT NOT NULL, password TEXT);
        INSERT INTO users (username, password) VALUES
            ('{DATABASE_USER[0]}', '{DATABASE_USER[1]}'),
            ('{SHARED_NAME}', '{SHARED_DATABASE_PASSWORD}');
    """)


def chain_toml(pg, http_url):
    memory_users = ", ".join(
        f'{{ username = "{name}", password = "{password}" }}'
        for name, password in (MEMORY_USER, (SHARED_NAME, SHARED_MEMORY_PASSWORD)))
    return "\n".join([
        "[[proxy.user_backends]]",
        'type = "memory"',
        f"users = [{memory_users}]",
        "",
        "[[proxy.user_backends]]",
        'type = "database"',
        f'url = "{pg.url}"',
        "",
        "[[proxy.user_backends]]",
        'type = "http"',
        f'url = "{http_url}"',
        'method = "POST"',
        "",
        "[[proxy.user_backends]]",
        'type = "plain"',
        'path = "plain-users.txt"',
        "",
        "[[proxy.user_backends]]",
        'type = "extension"',
        "ttl = 30",
    ])


def sipp_register(server, users):
    """Registers each (name, password) through SIPp; returns the SippResult."""
    csv = server.path(f"chain-{os.urandom(3).hex()}.csv")
    h.write_users_csv(csv, [[name, h.auth_field(name, password)] for name, password in users])
    return h.run_sipp(server.port, h.scenario("register_auth.xml"), csv, len(users), server.dir,
                      rate=20)


def register_status(server, name, password):
    client = h.UdpClient(server.port)
    try:
        user = h.SipUser(client, name, password)
        response = user.register([user.contact()], expires=120)
        return response.status if response is not None else None
    finally:
        client.close()


def cases(server):
    def extension_added_with_the_cli():
        added = subprocess.run(
            [server.binary, "extension", "add", EXTENSION_USER[0], "--password", EXTENSION_USER[1],
             "--conf", server.path("cppbx.toml")],
            capture_output=True, text=True, cwd=server.dir, timeout=30)
        check(added.returncode == 0, f"cppbx extension add failed: {added.stderr}")

    def one_user_of_each_backend_registers_through_sipp():
        users = [MEMORY_USER, DATABASE_USER, HTTP_USER, PLAIN_USER, EXTENSION_USER]
        result = sipp_register(server, users)
        check(result.code == 0 and result.successful == len(users) and result.failed == 0,
              f"expected {len(users)} registrations\n" + result.describe())

    def each_backend_really_answered():
        # Wrong passwords are refused for each of them: the users come from
        # the backends, not from some fallback that accepts anything.
        for name, password in (MEMORY_USER, DATABASE_USER, HTTP_USER, PLAIN_USER, EXTENSION_USER):
            status = register_status(server, name, password + "-wrong")
            check(status == 403, f"{name} with a wrong password got {status}")

    def the_first_backend_holding_a_name_answers():
        result = sipp_register(server, [(SHARED_NAME, SHARED_MEMORY_PASSWORD)])
        check(result.successful == 1 and result.failed == 0,
              "the memory backend's password was refused\n" + result.describe())
        status = register_status(server, SHARED_NAME, SHARED_DATABASE_PASSWORD)
        check(status == 403, f"the database's password (second backend) got {status}, wanted 403")

    def unknown_everywhere_is_refused():
        check(register_status(server, "5999", "anything") == 403, "an unknown user was not refused")

    return [
        ("extension added with cppbx extension add", extension_added_with_the_cli),
        ("a user of each of the five backends registers through SIPp",
         one_user_of_each_backend_registers_through_sipp),
        ("wrong passwords refused in every backend", each_backend_really_answered),
        ("the same name in two backends: the first answers", the_first_backend_holding_a_name_answers),
        ("unknown in every backend: 403", unknown_everywhere_is_refused),
    ]


def main():
    binary = h.binary_from_argv()
    if not db_servers.PostgresServer.available():
        print(f"FAIL: {db_servers.PostgresServer.missing_message()}")
        sys.exit(1)
    service = Service("fastapi_example.py")
    try:
        with db_servers.PostgresServer() as pg:
            create_table(pg)
            failed = h.run_suite_no_exit(
                # SIPp 3.6 answers MD5 challenges only.
                lambda: h.CppbxServer(binary, chain_toml(pg, service.url("/verify")),
                                      proxy={"auth_algorithms": '["MD5"]'},
                                      files={"plain-users.txt": f"{PLAIN_USER[0]}:{PLAIN_USER[1]}\n"}),
                cases)
    finally:
        service.stop()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
