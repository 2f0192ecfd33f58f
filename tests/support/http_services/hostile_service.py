"""A service that misbehaves on purpose, chosen by the looked-up username
(GET or POST, any path):

  slow*          sleeps --slow-seconds, then answers the user (password pw-<name>)
  user*          answers the user at once (password pw-<name>)
  status500      500 with {"detail": ...} (no reason)
  empty500       500 with an empty body
  notjson        502 with an HTML page
  badjson        200 with truncated JSON
  huge           200 with valid JSON of about 200 KiB
  nopassword     200 with a user lacking a password
  wrongtype      200 with a password that is a number
  redirect       302 to another place
  drop           closes the connection without answering
  detail404      404 with FastAPI's {"detail": ...}
  reason_<r>     the error payload {"reason": <r>}: status 404 for not_found and
                 not_user, 402 for payment_required, 403 for anything else
  anything else  404 {"reason": "not_found"}
"""

import json
import time

import service_base


def user_answer(username, realm):
    return service_base.json_answer(200, {
        "username": username, "password": "pw-" + username, "realm": realm,
        "display_name": username.upper(), "enabled": True, "allow_guest_calls": False,
    })


def reason_status(reason):
    if reason in ("not_found", "not_user"):
        return 404
    if reason == "payment_required":
        return 402
    return 403


def add_options(parser):
    parser.add_argument("--slow-seconds", type=float, default=5.0)


def main():
    args = service_base.arguments(__doc__, add_options)

    def lookup(method, path, params, headers):
        username = params.get("username", "")
        realm = params.get("realm", "")
        if username.startswith("slow"):
            time.sleep(args.slow_seconds)
            return user_answer(username, realm)
        if username.startswith("user"):
            return user_answer(username, realm)
        if username == "status500":
            return service_base.json_answer(500, {"detail": "internal error"})
        if username == "empty500":
            return 500, "text/plain", b""
        if username == "notjson":
            return 502, "text/html", b"<html><body>Bad Gateway</body></html>"
        if username == "badjson":
            return 200, "application/json", b'{"username": "badjson", "password": '
        if username == "huge":
            body = json.dumps({"username": "huge", "password": "pw-huge",
                               "display_name": "x" * 200 * 1024}).encode()
            return 200, "application/json", body
        if username == "nopassword":
            return service_base.json_answer(200, {"username": "nopassword"})
        if username == "wrongtype":
            return service_base.json_answer(200, {"username": "wrongtype", "password": 5})
        if username == "redirect":
            return 302, "text/plain", b"moved"
        if username == "drop":
            return None
        if username == "detail404":
            return service_base.json_answer(404, {"detail": "User not found"})
        if username.startswith("reason_"):
            reason = username[len("reason_"):]
            return service_base.json_answer(reason_status(reason),
                                            {"reason": reason, "message": "chosen by the test"})
        return service_base.json_answer(404, {"reason": "not_found"})

    service_base.serve(args.port, lookup)


if __name__ == "__main__":
    main()
