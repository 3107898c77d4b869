"""RAO tokens: list, create and read (`tokens`, `token`, `token/<uid>`)."""

from __future__ import annotations

import json
import uuid

from werkzeug.wrappers import Request, Response

from simulators.base import json_response
from simulators.oneshot.model import (
    SANDBOX_RAO_PASSWORD,
    SANDBOX_RAO_PIN,
    SANDBOX_RAO_USERNAME,
    SANDBOX_TOKEN,
    SimToken,
)
from simulators.oneshot.responses import bad_request, forbidden, not_found
from simulators.oneshot.state import OneShotState


class Tokens(OneShotState):
    def _tokens_list(self, request: Request) -> Response:
        with self.lock:
            # GUESS (docs/providers/oneshot.md §5.2): the new shape of GET /tokens was not seen; the legacy one, with
            # "status": "success", keyed by token uid. The preconfigured sandbox token comes first.
            details = {
                token.uid: {
                    "username": token.username,
                    "password": token.password is not None,
                    "pin": token.pin is not None,
                }
                for token in self.tokens.values()
            }
        return json_response({"status": "success", "details": details})

    def _token_create(self, request: Request) -> Response:
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            return bad_request("Could not parse JSON body")
        if not isinstance(body, dict) or not body.get("username"):
            return bad_request("Missing required parameter(s): username")
        username = str(body["username"])
        password = body.get("password")
        pin = body.get("pin")
        if username != SANDBOX_RAO_USERNAME:
            return not_found("Error getting RAO's id. Make sure the credentials are correct.")
        if (password is not None and password != SANDBOX_RAO_PASSWORD) or (pin is not None and pin != SANDBOX_RAO_PIN):
            return forbidden("Invalid RAO Credentials")
        with self.lock:
            for token in self.tokens.values():
                if token.uid != SANDBOX_TOKEN and (token.username, token.password, token.pin) == (
                    username,
                    password,
                    pin,
                ):
                    return bad_request("A token with these credentials already exist!")
            uid = str(uuid.uuid4())
            self.tokens[uid] = SimToken(uid, username, password, pin)
        # Documented shape (docs/providers/oneshot.md §5.2, N2).
        return json_response({"status": "success", "message": "Token created", "details": {"token_uid": uid}})

    def _token_get(self, request: Request, token_uid: str) -> Response:
        with self.lock:
            token = self.tokens.get(token_uid)
        if token is None:
            return not_found(f"Token {token_uid} not found")
        # GUESS (docs/providers/oneshot.md §5.2): the new body was cut off; the legacy details with "status": "success".
        details = {"username": token.username, "password": token.password is not None, "pin": token.pin is not None}
        return json_response({"status": "success", "details": details})
