"""The example service of docs/user-backends.md (POST, FastAPI).

It follows the reference protocol: POST /verify with a form body carrying
username and realm; 200 with the user as JSON when known; the error payload
{"reason": ...} to refuse; FastAPI's HTTPException 404 ({"detail": ...}) for
an unknown user. Run: python3 fastapi_example.py --port 8000
"""

import argparse

import uvicorn
from fastapi import FastAPI, Form, HTTPException
from fastapi.responses import JSONResponse

app = FastAPI()


@app.post("/verify")
def verify_user(username: str = Form(...), realm: str = Form(...)):
    # A real service would look the user up in its own database here.
    if username == "1001":
        return {
            "id": 1,
            "enabled": True,
            "username": "1001",
            "password": "secret-password",
            "realm": realm,
            "display_name": "Alice Cooper",
            "allow_guest_calls": False,
        }
    if username == "1002":
        # Known, but out of credit: cppbx answers 402 Payment Required.
        return JSONResponse(status_code=402,
                            content={"reason": "payment_required", "message": "balance is zero"})
    if username == "1003":
        return JSONResponse(status_code=403, content={"reason": "blocked"})
    raise HTTPException(status_code=404, detail="User not found")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
