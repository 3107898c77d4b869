"""The control API under `/_sim/zapsign/` (tests and demo only): act as a signer, move the clock, send events,
change the configuration. docs/simulators.md has the table."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from simulators.base import View, json_response
from simulators.zapsign.api import RestApi
from simulators.zapsign.model import ActionError
from simulators.zapsign.serializers import _timestamp


class ControlApi(RestApi):
    def _control(self, view: View) -> View:
        def wrapped(request: Request, **arguments: Any) -> Response:
            try:
                return view(request, **arguments)
            except ActionError as error:
                return json_response({"detail": error.detail}, error.status)

        return wrapped

    def _control_documents(self, request: Request) -> Response:
        results = self.find_documents(external_id=request.args.get("external_id"), status=request.args.get("status"))
        return json_response({"count": len(results), "results": results})

    def _control_expire(self, request: Request, token: str) -> Response:
        return json_response(self.expire(token))

    def _control_event(self, request: Request, token: str) -> Response:
        body = request.get_json(force=True, silent=True) or {}
        event_type = body.get("event_type")
        if not isinstance(event_type, str) or not event_type:
            raise ActionError(400, "event_type is required")
        extra = body.get("extra") or {}
        if not isinstance(extra, dict):
            raise ActionError(400, "extra must be an object")
        return json_response({"queued": self.send_event(token, event_type, extra)})

    def _control_open(self, request: Request, token: str) -> Response:
        return json_response(self.open_link(token))

    def _control_photos(self, request: Request, token: str) -> Response:
        body = request.get_json(force=True, silent=True) or {}
        return json_response(
            self.upload_photos(
                token,
                document=bool(body.get("document", True)),
                verse=bool(body.get("verse", True)),
                selfie=bool(body.get("selfie", True)),
            )
        )

    def _control_sign(self, request: Request, token: str) -> Response:
        return json_response(self.sign(token))

    def _control_refuse(self, request: Request, token: str) -> Response:
        body = request.get_json(force=True, silent=True) or {}
        reason = body.get("rejected_reason") or "Recusado pelo signatário"
        return json_response(self.refuse_by_signer(token, str(reason)))

    def _control_email_bounce(self, request: Request) -> Response:
        body = request.get_json(force=True, silent=True) or {}
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise ActionError(400, "token is required")
        return json_response({"queued": self.email_bounce(token, str(body.get("email") or "bounce@example.invalid"))})

    def _control_webhooks(self, request: Request) -> Response:
        with self.lock:
            return json_response([registration.to_json() for registration in self.registrations.values()])

    def _control_flush(self, request: Request) -> Response:
        self.webhooks.flush_held()
        return json_response({"settled": self.webhooks_settled()})

    def _control_clock(self, request: Request) -> Response:
        if request.method == "POST":
            body = request.get_json(force=True, silent=True) or {}
            seconds = body.get("advance_seconds")
            if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
                raise ActionError(400, "advance_seconds must be a non-negative number")
            self.advance_clock(float(seconds))
        return json_response({"now": _timestamp(self.now()), "offset_seconds": self.clock_offset})

    def _control_config(self, request: Request) -> Response:
        if request.method == "POST":
            body = request.get_json(force=True, silent=True) or {}
            try:
                with self.lock:
                    self.config.update(body)
            except ValueError as error:
                raise ActionError(400, str(error)) from None
        return json_response(vars(self.config))
