"""The control routes under `/_sim/oneshot/` (tests and demo only): SMS codes, requests, the clock."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from simulators.base import json_response
from simulators.oneshot.images import Images


class ControlRoutes(Images):
    def _sim_otp(self, request: Request) -> Response:
        phone = request.args.get("phone") or None
        pk_text = request.args.get("pk") or None
        if phone is None and pk_text is None:
            return json_response({"detail": "give ?phone=+34... or ?pk=N"}, 400)
        if pk_text is not None and not pk_text.isdigit():
            return json_response({"detail": "pk must be an integer"}, 400)
        return self._otp_answer(pk=int(pk_text) if pk_text else None, phone=phone)

    def _sim_request_otp(self, request: Request, pk: str) -> Response:
        if not pk.isdigit():
            return json_response({"detail": "pk must be an integer"}, 400)
        return self._otp_answer(pk=int(pk), phone=None)

    def _otp_answer(self, *, pk: int | None, phone: str | None) -> Response:
        with self.lock:
            for sms in reversed(self.sms):
                if (pk is None or sms["pk"] == pk) and (phone is None or sms["phone"] == phone):
                    return json_response(sms)
        return json_response({"detail": "no OTP sent"}, 404)

    def _sim_requests(self, request: Request) -> Response:
        with self.lock:
            return json_response([found.summary() for found in self.requests.values()])

    def _sim_request(self, request: Request, pk: str) -> Response:
        with self.lock:
            found = self.requests.get(int(pk)) if pk.isdigit() else None
            if found is None:
                return json_response({"detail": f"Request {pk} not found"}, 404)
            return json_response(found.summary())

    def _sim_sms(self, request: Request) -> Response:
        with self.lock:
            return json_response(list(self.sms))

    def _sim_clock(self, request: Request) -> Response:
        if request.method == "POST":
            body = request.get_json(force=True, silent=True) or {}
            try:
                seconds = float(body.get("advance_seconds", 0))
            except (TypeError, ValueError):
                return json_response({"detail": "advance_seconds must be a number"}, 400)
            self.advance_clock(seconds)
        with self.lock:
            return json_response({"now": self.now(), "offset_seconds": self._clock_offset})
