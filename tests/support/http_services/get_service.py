"""A GET user service with custom field names that requires an API key.

Answers GET /lookup?<user-field>=...&<realm-field>=... (any other query
parameters are ignored, so the backend's URL may carry its own query). The
X-Api-Key header must match --api-key, otherwise 401 with the reason
"unauthorized", which the protocol does not define (a backend error).
Users: see USERS; a name with reserved characters checks URL encoding.
"""

import service_base

USERS = {
    "2001": {"password": "get-secret-2001", "display_name": "Bob"},
    "a b&c=d+e%?#/": {"password": "odd-secret", "display_name": "Odd Name"},
    "2002": {"password": "get-secret-2002", "display_name": "Disabled", "enabled": False},
}


def add_options(parser):
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--user-field", default="user")
    parser.add_argument("--realm-field", default="domain")


def main():
    args = service_base.arguments(__doc__, add_options)

    def lookup(method, path, params, headers):
        if method != "GET" or path != "/lookup":
            return service_base.json_answer(405, {"reason": "method_not_allowed"})
        if headers.get("X-Api-Key") != args.api_key:
            return service_base.json_answer(401, {"reason": "unauthorized"})
        username = params.get(args.user_field)
        realm = params.get(args.realm_field)
        user = USERS.get(username)
        if user is None or realm is None:
            return service_base.json_answer(404, {"reason": "not_found"})
        return service_base.json_answer(200, {
            "id": 7,
            "username": username,
            "password": user["password"],
            "realm": realm,
            "display_name": user["display_name"],
            "enabled": user.get("enabled", True),
            "allow_guest_calls": True,
            "extra": {"ignored": [1, 2, 3]},
        })

    service_base.serve(args.port, lookup)


if __name__ == "__main__":
    main()
