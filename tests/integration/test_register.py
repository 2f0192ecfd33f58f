"""Registrar behaviour through the real binary, driven by the Python client.

The server offers the default algorithms (SHA-256 then MD5), so these cases
cover SHA-256, which SIPp 3.6 cannot compute ("createAuthHeader:
authentication must use MD5 or AKAv1-MD5"). registrar_min_expires is lowered
to 1 so that expiry can be observed within seconds; the expiry case polls a
query instead of sleeping a fixed time.
"""

import harness as h
from harness import check, describe

USERS = [(f"10{n:02d}", f"secret-{n}") for n in range(1, 13)]
PASSWORDS = dict(USERS)
MAX_EXPIRES = 7200


def user(server, name, client=None, **kwargs):
    client = client or h.UdpClient(server.port)
    return h.SipUser(client, name, PASSWORDS.get(name, "whatever"), **kwargs)


def expect_ok_with_contact(response, contact_uri, low, high):
    check(response is not None and response.status == 200,
          f"expected 200, got {describe(response)}")
    matching = [c for c in response.contacts() if h.contact_uri(c) == contact_uri]
    check(matching, f"200 does not list {contact_uri}:\n{response}")
    expires = h.contact_expires(matching[0])
    check(expires is not None and low <= expires <= high,
          f"contact expires {expires} not in [{low}, {high}]:\n{response}")


def cases(server):
    def challenge_order():
        alice = user(server, "1001")
        first = alice.send_request("REGISTER", [("Contact", alice.contact())])
        check(first is not None and first.status == 401, f"expected 401, got {describe(first)}")
        algorithms = [c.get("algorithm", "MD5").upper() for c in h.challenges_of(first)]
        check(algorithms == ["SHA-256", "MD5"], f"challenge order {algorithms}")
        realms = {c.get("realm") for c in h.challenges_of(first)}
        check(realms == {h.LOOPBACK}, f"challenge realms {realms}")
        alice.client.close()

    def register_with(algorithm, name, transport):
        def case():
            client = h.TcpClient(server.port) if transport == "tcp" else h.UdpClient(server.port)
            someone = user(server, name, client)
            contact = someone.contact()
            response = someone.register([contact], expires=300, algorithm=algorithm)
            expect_ok_with_contact(response, h.contact_uri(contact), 1, 300)
            check(response.has("date"), f"200 to REGISTER without Date (RFC 3261 10.3 step 8):\n{response}")
            check(h.contact_uri(contact) in [h.contact_uri(c) for c in someone.query(algorithm)],
                  "query after registration does not list the binding")
            client.close()
        return case

    def refused(name, password, algorithm):
        def case():
            someone = user(server, name)
            response = someone.register([someone.contact()], algorithm=algorithm,
                                        password=password)
            check(response is not None and response.status == 403,
                  f"expected 403, got {describe(response)}")
            someone.client.close()
            return response
        return case

    def unknown_and_wrong_password_look_alike():
        unknown = refused("9999", "whatever", "SHA-256")()
        wrong = refused("1004", "not-the-password", "SHA-256")()
        check(unknown.reason == wrong.reason,
              f"unknown user answered '{unknown.reason}', wrong password '{wrong.reason}'")

    def several_contacts_in_one_register():
        bob = user(server, "1005")
        contacts = [bob.contact("a"), bob.contact("b", expires=120), bob.contact("c", expires=240)]
        response = bob.register(contacts, expires=600)
        check(response is not None and response.status == 200, f"expected 200, got {describe(response)}")
        listed = {h.contact_uri(c): h.contact_expires(c) for c in response.contacts()}
        wanted = {h.contact_uri(c): limit for c, limit in zip(contacts, (600, 120, 240))}
        for uri, limit in wanted.items():
            check(uri in listed, f"{uri} missing from 200:\n{response}")
            check(listed[uri] is not None and limit - 5 <= listed[uri] <= limit,
                  f"{uri} expires {listed[uri]}, wanted about {limit}")
        queried = {h.contact_uri(c) for c in bob.query()}
        check(queried == set(wanted), f"query lists {queried}, wanted {set(wanted)}")

    def expires_zero_removes_one_binding():
        carol = user(server, "1006")
        keep, drop = carol.contact("keep"), carol.contact("drop")
        check(carol.register([keep, drop], expires=600).status == 200, "initial REGISTER failed")
        response = carol.register([carol.contact("drop", expires=0)])
        check(response is not None and response.status == 200, f"expected 200, got {describe(response)}")
        queried = {h.contact_uri(c) for c in carol.query()}
        check(queried == {h.contact_uri(keep)}, f"after removing one, query lists {queried}")

    def contact_star_removes_all():
        dave = user(server, "1007")
        check(dave.register([dave.contact("a"), dave.contact("b")], expires=600).status == 200,
              "initial REGISTER failed")
        response = dave.register(["*"], expires=0)
        check(response is not None and response.status == 200, f"expected 200, got {describe(response)}")
        check(not response.contacts(), f"200 to Contact * still lists bindings:\n{response}")
        check(dave.query() == [], "query after Contact * still lists bindings")

    def contact_star_needs_expires_zero():
        erin = user(server, "1008")
        response = erin.register(["*"], expires=60)
        check(response is not None and response.status == 400, f"expected 400, got {describe(response)}")
        response = erin.register(["*", erin.contact()], expires=0)
        check(response is not None and response.status == 400,
              f"Contact * with another contact: expected 400, got {describe(response)}")

    def expiry():
        frank = user(server, "1009")
        contact = frank.contact()
        response = frank.register([contact], expires=2)
        expect_ok_with_contact(response, h.contact_uri(contact), 1, 2)
        gone = h.poll(lambda: frank.query() == [], timeout=15, interval=0.5)
        check(gone, "binding with expires=2 still listed after 15 s")

    def clamped_to_max():
        grace = user(server, "1010")
        contact = grace.contact()
        response = grace.register([contact], expires=10 * MAX_EXPIRES)
        expect_ok_with_contact(response, h.contact_uri(contact), 1, MAX_EXPIRES)

    def not_your_aor():
        heidi = user(server, "1011")
        request_uri = f"sip:{h.LOOPBACK}"
        response = heidi.request("REGISTER", [("Contact", heidi.contact())],
                                 to_uri=f"sip:1012@{h.LOOPBACK}", request_uri=request_uri)
        check(response is not None and response.status == 403,
              f"registering someone else's AoR: expected 403, got {describe(response)}")

    def aor_ignores_port():
        ivan = user(server, "1012", server_port=server.port)  # To: sip:1012@127.0.0.1:PORT
        contact = ivan.contact()
        check(ivan.register([contact], expires=300).status == 200, "REGISTER with port failed")
        plain = user(server, "1012")  # To without port: the same AoR
        listed = [h.contact_uri(c) for c in plain.query()]
        check(h.contact_uri(contact) in listed, f"AoR with port not found without port: {listed}")

    return [
        ("401 offers SHA-256 then MD5", challenge_order),
        ("SHA-256 REGISTER over UDP", register_with("SHA-256", "1002", "udp")),
        ("MD5 REGISTER over UDP", register_with("MD5", "1003", "udp")),
        ("SHA-256 REGISTER over TCP", register_with("SHA-256", "1004", "tcp")),
        ("wrong password SHA-256 -> 403", refused("1001", "wrong", "SHA-256")),
        ("wrong password MD5 -> 403", refused("1001", "wrong", "MD5")),
        ("unknown user -> 403", refused("7777", "x", "MD5")),
        ("unknown user and wrong password answer alike", unknown_and_wrong_password_look_alike),
        ("several contacts in one REGISTER", several_contacts_in_one_register),
        ("expires=0 removes one binding", expires_zero_removes_one_binding),
        ("Contact * with Expires 0 removes all", contact_star_removes_all),
        ("Contact * misuse -> 400", contact_star_needs_expires_zero),
        ("binding expires", expiry),
        ("expires clamped to registrar_max_expires", clamped_to_max),
        ("registering another user's AoR -> 403", not_your_aor),
        ("AoR with and without port is the same", aor_ignores_port),
        ("server still answers OPTIONS", lambda: check(server.options_ping(), "no 200 to OPTIONS")),
        ("SIGTERM exits 0", server.stop),
    ]


def main():
    binary = h.binary_from_argv()
    h.run_suite(lambda: h.CppbxServer(binary, h.memory_backend_toml(USERS),
                                      proxy={"registrar_min_expires": "1",
                                             "registrar_max_expires": str(MAX_EXPIRES)}),
                cases)


if __name__ == "__main__":
    main()
