"""cppbx with HTTP user backends in front of a memory backend.

Chain: [http -> hostile service, http POST -> FastAPI example, memory].
The hostile service (tests/support/http_services/) takes 2 s to answer for
its "slow*" users and answers not_found at once for anyone else, so:

- while REGISTERs of slow users wait on the service (cppbx runs with a
  single SIP I/O thread, so any blocking would show), memory users register
  at the same time, each REGISTER well under the 2 s;
- the FastAPI example's user registers through the POST backend; its
  payment_required user gets 402 Payment Required and its blocked user 403;
- when the first service is down, a user only it knows gets 503 with
  Retry-After, while memory users still register (the error is remembered but
  a later backend that finds the user wins).
"""

import time

import harness as h
from services import Service
from harness import check

SLOW_SECONDS = 2.0
SLOW_USERS = [f"slow{i}" for i in range(6)]
MEMORY_USERS = [(f"m{i}", f"memory-pass-{i}") for i in range(5)]


def backends_toml(hostile, fastapi):
    return "\n".join([
        "[[proxy.user_backends]]",
        'type = "http"',
        f'url = "{hostile.url("/users")}"',
        "timeout_ms = 5000",
        "",
        "[[proxy.user_backends]]",
        'type = "http"',
        f'url = "{fastapi.url("/verify")}"',
        'method = "POST"',
        "",
        h.memory_backend_toml(MEMORY_USERS),
    ])


def contact(client, name):
    return f"<sip:{name}@{h.LOOPBACK}:{client.port}>"


def send_register_with_credentials(user, client):
    """Gets the challenge, then sends the answered REGISTER without waiting."""
    first = user.send_request("REGISTER", [("Contact", contact(client, user.username))])
    check(first is not None and first.status == 401, f"{user.username}: expected 401, got {h.describe(first)}")
    uri = f"sip:{user.domain}"
    auth = h.authorization_header(h.pick_challenge(first, "MD5"), user.username, user.password,
                                  "REGISTER", uri)
    user.cseq += 1
    client.send(h.build_request(
        "REGISTER", uri, via_host=h.LOOPBACK, via_port=client.port, from_uri=user.aor,
        to_uri=user.aor, call_id=user.call_id, cseq=user.cseq, from_tag=user.from_tag,
        headers=[("Contact", contact(client, user.username)), ("Authorization", auth)]))


def register_status(server, name, password):
    client = h.UdpClient(server.port)
    try:
        response = h.SipUser(client, name, password).register([contact(client, name)], expires=120)
        return response
    finally:
        client.close()


def cases(server, hostile, fastapi):
    def memory_users_register_while_http_lookups_wait():
        clients = [h.UdpClient(server.port) for _ in SLOW_USERS]
        try:
            slow = [h.SipUser(c, name, "pw-" + name) for c, name in zip(clients, SLOW_USERS)]
            started = time.monotonic()
            for user, client in zip(slow, clients):
                send_register_with_credentials(user, client)
            durations = []
            for name, password in MEMORY_USERS:
                begin = time.monotonic()
                response = register_status(server, name, password)
                durations.append(time.monotonic() - begin)
                check(response is not None and response.status == 200,
                      f"memory user {name}: expected 200, got {h.describe(response)}")
            memory_done = time.monotonic() - started
            check(max(durations) < 0.5,
                  f"memory REGISTERs took up to {max(durations):.2f}s while HTTP lookups waited")
            check(memory_done < SLOW_SECONDS * 0.75,
                  f"memory users finished {memory_done:.2f}s after the slow ones started, "
                  f"not while they were pending")
            for user in slow:
                response = user.final_response(timeout=8)
                check(response is not None and response.status == 200,
                      f"slow user {user.username}: expected 200, got {h.describe(response)}")
            slow_done = time.monotonic() - started
            print(f"  memory REGISTERs: slowest {max(durations) * 1000:.0f} ms, all done after "
                  f"{memory_done * 1000:.0f} ms; slow users answered after {slow_done:.2f} s", flush=True)
            check(slow_done >= SLOW_SECONDS * 0.9,
                  f"slow users answered after {slow_done:.2f}s: the service was not slow")
            check(slow_done < SLOW_SECONDS * 2.5,
                  f"slow users took {slow_done:.2f}s: their lookups did not run side by side")
        finally:
            for client in clients:
                client.close()

    def fastapi_user_registers_over_post():
        response = register_status(server, "1001", "secret-password")
        check(response is not None and response.status == 200,
              f"1001 through the FastAPI example: expected 200, got {h.describe(response)}")
        wrong = register_status(server, "1001", "not-the-password")
        check(wrong is not None and wrong.status == 403, f"wrong password: expected 403, got {h.describe(wrong)}")

    def payment_required_is_402():
        response = register_status(server, "1002", "anything")
        check(response is not None and response.status == 402,
              f"payment_required: expected 402, got {h.describe(response)}")
        check(response.reason == "Payment Required", f"402 reason phrase is '{response.reason}'")

    def blocked_is_403():
        response = register_status(server, "1003", "anything")
        check(response is not None and response.status == 403,
              f"blocked: expected 403, got {h.describe(response)}")

    def unknown_everywhere_is_403():
        response = register_status(server, "nobody", "anything")
        check(response is not None and response.status == 403,
              f"unknown user: expected 403, got {h.describe(response)}")

    def service_down_gives_503_with_retry_after():
        hostile.stop()
        response = register_status(server, "user-only-in-hostile", "pw-user-only-in-hostile")
        check(response is not None and response.status == 503,
              f"service down: expected 503, got {h.describe(response)}")
        retry_after = response.get("retry-after")
        check(retry_after is not None and retry_after.strip().isdigit(),
              f"503 without a numeric Retry-After:\n{response}")
        name, password = MEMORY_USERS[0]
        still = register_status(server, name, password)
        check(still is not None and still.status == 200,
              f"memory user while the service is down: expected 200, got {h.describe(still)}")
        log = server.log_text()
        check("request failed" in log, "the log does not say the HTTP request failed")
        check("pw-" not in log and "secret-password" not in log, "a password reached the log")
        check(server.alive(), "cppbx died")

    return [
        ("memory users register while HTTP lookups wait 2 s", memory_users_register_while_http_lookups_wait),
        ("FastAPI user registers over POST", fastapi_user_registers_over_post),
        ("payment_required answers 402 Payment Required", payment_required_is_402),
        ("blocked answers 403", blocked_is_403),
        ("unknown in every backend answers 403", unknown_everywhere_is_403),
        ("service down: 503 with Retry-After", service_down_gives_503_with_retry_after),
    ]


def main():
    binary = h.binary_from_argv()
    hostile = Service("hostile_service.py", "--slow-seconds", str(SLOW_SECONDS))
    try:
        fastapi = Service("fastapi_example.py")
    except BaseException:
        hostile.stop()
        raise
    try:
        failed = h.run_suite_no_exit(
            lambda: h.CppbxServer(binary, backends_toml(hostile, fastapi), proxy={"io_threads": "1"}),
            lambda server: cases(server, hostile, fastapi))
    finally:
        hostile.stop()
        fastapi.stop()
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
