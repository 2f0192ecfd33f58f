"""The database locator end to end: bindings survive a cppbx restart.

cppbx runs with [proxy.locator] type = "database", once on the SQLite file of
the top-level database_url (the locator's url left out) and once on a real
PostgreSQL started by the test (its own url). SIPp registers a batch of users
over UDP, harness clients register one UDP and one TCP user. cppbx is stopped
and started again on the same port and database: a REGISTER query (no
Contact) must show the same UDP bindings with the remaining expiry (less than
or equal to before the restart, not reset to the registered value), while the
TCP binding, whose connection died with the old process, is gone.
"""

import subprocess
import sys
import time

import db_servers
import harness as h
from harness import check, describe

SIPP_USERS = [(f"40{n:02d}", f"pw-{n}-db") for n in range(1, 11)]
UDP_USER = ("4101", "pw-udp")
TCP_USER = ("4102", "pw-tcp")
EXPIRES = 600


class RestartableServer(h.CppbxServer):
    """A CppbxServer that keeps its port (and so its home_proxy) on restart."""

    def start(self):
        if self.port is None:
            super().start()
        else:
            self._start_on(self.port)

    def _start_on(self, port):
        self.port = port
        self.write_file("cppbx.toml", self.config_text())
        self._log_handle_close()
        self._log = open(self.path("cppbx.log"), "ab")
        self.process = subprocess.Popen(
            [self.binary, "--conf", self.path("cppbx.toml")],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=self.dir)
        self.wait_ready()


def make_server(binary, locator_url=None):
    users = SIPP_USERS + [UDP_USER, TCP_USER]
    locator = ["[proxy.locator]", 'type = "database"', "timeout_ms = 2000", "pool_size = 2"]
    if locator_url:
        locator.append(f'url = "{locator_url}"')
    return RestartableServer(binary, h.memory_backend_toml(users) + "\n\n" + "\n".join(locator),
                             proxy={"auth_algorithms": h.toml_list(["MD5"])})


def expiries(contacts):
    """{contact URI: expires} of a 200's Contact values."""
    return {h.contact_uri(c): h.contact_expires(c) for c in contacts}


def query(server, user, transport="udp"):
    client = h.TcpClient(server.port) if transport == "tcp" else h.UdpClient(server.port)
    try:
        return expiries(h.SipUser(client, *user).query())
    finally:
        client.close()


def run(binary, label, locator_url=None):
    print(f"--- {label}", flush=True)
    with make_server(binary, locator_url) as server:
        state = {}

        def sipp_registers_users():
            csv = server.path("users.csv")
            h.write_users_csv(csv, [[name, h.auth_field(name, pw)] for name, pw in SIPP_USERS])
            result = h.run_sipp(server.port, h.scenario("register_auth.xml"), csv,
                                len(SIPP_USERS), server.dir, rate=50)
            check(result.code == 0 and result.successful == len(SIPP_USERS) and result.failed == 0,
                  "SIPp registrations\n" + result.describe())

        def clients_register_udp_and_tcp():
            udp = h.UdpClient(server.port)
            tcp = h.TcpClient(server.port)
            state["clients"] = (udp, tcp)  # the TCP flow stays open until the restart
            for client, user in ((udp, UDP_USER), (tcp, TCP_USER)):
                sip_user = h.SipUser(client, *user)
                response = sip_user.register([sip_user.contact()], expires=EXPIRES)
                check(response is not None and response.status == 200, describe(response))
            state["tcp_before"] = query(server, TCP_USER)
            check(len(state["tcp_before"]) == 1, f"TCP binding before restart: {state['tcp_before']}")

        def restart_keeps_udp_bindings_with_their_remaining_expiry():
            before = {name: query(server, (name, pw)) for name, pw in SIPP_USERS + [UDP_USER]}
            for name, bindings in before.items():
                check(len(bindings) == 1, f"{name} before restart: {bindings}")
            time.sleep(2.2)  # so that the remaining expiry visibly went down
            server.stop()
            for client in state.pop("clients"):
                client.close()
            server.start()
            for name, pw in SIPP_USERS + [UDP_USER]:
                after = query(server, (name, pw))
                check(set(after) == set(before[name]),
                      f"{name}: bindings {after} after restart, {before[name]} before")
                for uri, expires in after.items():
                    old = before[name][uri]
                    check(expires is not None and expires <= old - 1,
                          f"{name}: expires {expires} after restart, {old} before (must not be reset)")
                    check(expires >= old - 60, f"{name}: expires {expires} dropped too far from {old}")

        def tcp_binding_of_the_old_process_is_gone():
            after = query(server, TCP_USER)
            check(after == {}, f"TCP binding survived the restart: {after}")
            check("closed connections removed" in server.log_text(),
                  "the restart's removal of TCP bindings was not logged")

        failures = h.run_cases([
            ("sipp registers users", sipp_registers_users),
            ("clients register over UDP and TCP", clients_register_udp_and_tcp),
            ("restart keeps UDP bindings with their remaining expiry",
             restart_keeps_udp_bindings_with_their_remaining_expiry),
            ("TCP binding of the old process is gone", tcp_binding_of_the_old_process_is_gone),
        ])
        if failures:
            server.dump_log_tail()
        server.stop()
        return bool(failures)


def main():
    binary = h.binary_from_argv()
    failed = run(binary, "SQLite (the top-level database_url)")
    if not db_servers.PostgresServer.available():
        print(f"FAIL PostgreSQL: {db_servers.PostgresServer.missing_message()}")
        sys.exit(1)
    with db_servers.PostgresServer() as pg:
        failed = run(binary, "PostgreSQL", pg.url) or failed
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
