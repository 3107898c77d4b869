"""`OneShotSimulator`: every concern of the simulator assembled, and its routes."""

from __future__ import annotations

from simulators.oneshot.control import ControlRoutes
from simulators.oneshot.model import API_PREFIXES


class OneShotSimulator(ControlRoutes):
    """The One-Shot Optimizer, in memory. See the package docstring for routes and control routes."""

    name = "oneshot"

    def _register_routes(self) -> None:
        for prefix in API_PREFIXES:
            self.route(f"{prefix}/tokens", "tokens_list", ["GET"], self._tokens_list)
            self.route(f"{prefix}/token", "token_create", ["POST"], self._token_create)
            self.route(f"{prefix}/token/<token_uid>", "token_get", ["GET"], self._token_get)
            self.route(f"{prefix}/create", "create", ["POST"], self._create)
            self.route(f"{prefix}/document/<pk>", "document_upload", ["POST"], self._document_upload)
            self.route(f"{prefix}/document/<pk>", "documents_delete", ["DELETE"], self._documents_delete)
            self.route(f"{prefix}/document/<pk>/<uid>", "document_retrieve", ["GET"], self._document_retrieve)
            self.route(f"{prefix}/document/<pk>/<uid>", "document_delete", ["DELETE"], self._document_delete)
            self.route(f"{prefix}/documents/<pk>", "documents_list", ["GET"], self._documents_list)
            self.route(f"{prefix}/contract/<pk>", "contract", ["GET"], self._contract)
            self.route(f"{prefix}/otp/<pk>", "otp", ["POST"], self._otp)
            self.route(f"{prefix}/sign/<pk>", "sign", ["POST"], self._sign)
            self.route(f"{prefix}/image", "image_upload", ["POST"], self._image_upload)
            self.route(f"{prefix}/image/<image_uid>", "image_get", ["GET"], self._image_get)
            self.route(f"{prefix}/image/<image_uid>", "image_delete", ["DELETE"], self._image_delete)

        self.route("/_sim/oneshot/otp", "sim_oneshot_otp", ["GET"], self._sim_otp)
        self.route("/_sim/oneshot/requests", "sim_oneshot_requests", ["GET"], self._sim_requests)
        self.route("/_sim/oneshot/requests/<pk>", "sim_oneshot_request", ["GET"], self._sim_request)
        self.route("/_sim/oneshot/requests/<pk>/otp", "sim_oneshot_request_otp", ["GET"], self._sim_request_otp)
        self.route("/_sim/oneshot/sms", "sim_oneshot_sms", ["GET"], self._sim_sms)
        self.route("/_sim/oneshot/clock", "sim_oneshot_clock", ["GET", "POST"], self._sim_clock)
