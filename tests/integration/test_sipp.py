"""SIPp drives REGISTER with MD5 digest against the real binary.

SIPp 3.6 only computes MD5, so this server offers MD5 alone; SHA-256 is
covered by test_register.py. Each SIPp run must end with exactly the expected
number of successful calls and no failed one. The ensure_user=true server
gets the "no answer at all" scenario for unknown users and wrong passwords.
"""

import os

import harness as h
from harness import check, describe

USERS = [(f"20{n:02d}", f"pw-{n}-x") for n in range(1, 21)]


def sipp_case(server, scenario, rows, transport="u1"):
    def case():
        csv = server.path(f"users-{os.urandom(3).hex()}.csv")
        h.write_users_csv(csv, rows)
        result = h.run_sipp(server.port, h.scenario(scenario), csv, len(rows), server.dir,
                            transport=transport, rate=50)
        check(result.code == 0 and result.successful == len(rows) and result.failed == 0,
              f"{scenario} over {transport}: expected {len(rows)} successful calls\n"
              + result.describe())
    return case


def good_rows(users):
    return [[name, h.auth_field(name, password)] for name, password in users]


def bad_password_rows(users):
    return [[name, h.auth_field(name, password + "-wrong")] for name, password in users]


def unknown_rows(count):
    return [[f"9{n:03d}", h.auth_field(f"9{n:03d}", "nobody")] for n in range(count)]


def main_cases(server):
    def removed_all_then_query_empty():
        name, password = USERS[0]
        client = h.UdpClient(server.port)
        someone = h.SipUser(client, name, password)
        check(someone.query() == [], f"bindings of {name} left after Contact *")
        client.close()

    def interval_too_brief():
        name, password = USERS[5]
        client = h.UdpClient(server.port)
        someone = h.SipUser(client, name, password)
        response = someone.register([someone.contact()], expires=30)
        check(response is not None and response.status == 423, f"expected 423, got {describe(response)}")
        check(response.get("min-expires") == "60", f"Min-Expires {response.get('min-expires')!r}, wanted 60")
        client.close()

    def expires_default_applied():
        name, password = USERS[6]
        client = h.UdpClient(server.port)
        someone = h.SipUser(client, name, password)
        contact = someone.contact()
        response = someone.register([contact])  # no expires anywhere: registrar_expires
        check(response is not None and response.status == 200, f"expected 200, got {describe(response)}")
        listed = [h.contact_expires(c) for c in response.contacts()
                  if h.contact_uri(c) == h.contact_uri(contact)]
        check(listed and 85 <= listed[0] <= 90, f"default expires {listed}, wanted 90")
        client.close()

    return [
        ("SIPp MD5 REGISTER over UDP (10 users)", sipp_case(server, "register_auth.xml", good_rows(USERS[:10]))),
        ("SIPp MD5 REGISTER over TCP (10 users)", sipp_case(server, "register_auth.xml", good_rows(USERS[10:]), "t1")),
        ("SIPp wrong password -> 403", sipp_case(server, "register_forbidden.xml", bad_password_rows(USERS[:5]))),
        ("SIPp unknown user -> 403", sipp_case(server, "register_forbidden.xml", unknown_rows(5))),
        ("SIPp Contact * Expires 0 -> 200 without Contact", sipp_case(server, "unregister_all.xml", good_rows(USERS[:1]))),
        ("query after Contact * is empty", removed_all_then_query_empty),
        ("expires below minimum -> 423 with Min-Expires", interval_too_brief),
        ("registrar_expires used when none given", expires_default_applied),
        ("server still answers OPTIONS", lambda: check(server.options_ping(), "no 200 to OPTIONS")),
        ("SIGTERM exits 0", server.stop),
    ]


def silent_cases(server):
    def python_client_sees_silence(name, password):
        def case():
            client = h.UdpClient(server.port)
            try:
                someone = h.SipUser(client, name, password)
                # Without credentials the server must still challenge (whether
                # the user exists or not); only the failed answer is silent.
                first = someone.send_request("REGISTER", [("Contact", someone.contact())])
                check(first is not None and first.status == 401,
                      f"ensure_user: expected a 401 challenge first, got {describe(first)}")
                response = someone.register([someone.contact()])
                check(response is None, f"ensure_user: expected no answer, got {describe(response)}")
            finally:
                client.close()
        return case

    return [
        ("ensure_user: SIPp good credentials still 200", sipp_case(server, "register_auth.xml", good_rows(USERS[:3]))),
        ("ensure_user: SIPp wrong password unanswered", sipp_case(server, "register_unanswered.xml", bad_password_rows(USERS[3:6]))),
        ("ensure_user: SIPp unknown user unanswered", sipp_case(server, "register_unanswered.xml", unknown_rows(3))),
        ("ensure_user: TCP wrong password unanswered", sipp_case(server, "register_unanswered.xml", bad_password_rows(USERS[6:8]), "t1")),
        ("ensure_user: raw wrong password unanswered", python_client_sees_silence(USERS[9][0], "nope")),
        ("ensure_user: raw unknown user unanswered", python_client_sees_silence("9876", "nope")),
        ("server still answers OPTIONS", lambda: check(server.options_ping(), "no 200 to OPTIONS")),
        ("SIGTERM exits 0", server.stop),
    ]


def main():
    binary = h.binary_from_argv()
    proxy = {"auth_algorithms": h.toml_list(["MD5"]), "registrar_expires": "90"}
    failed = h.run_suite_no_exit(lambda: h.CppbxServer(binary, h.memory_backend_toml(USERS), proxy=proxy),
                                 main_cases)
    silent_proxy = dict(proxy, ensure_user="true")
    failed |= h.run_suite_no_exit(lambda: h.CppbxServer(binary, h.memory_backend_toml(USERS), proxy=silent_proxy),
                                  silent_cases)
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
