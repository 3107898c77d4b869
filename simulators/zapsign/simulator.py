"""`ZapSignSimulator`: every concern of the simulator assembled, and its routes."""

from __future__ import annotations

from simulators.base import View
from simulators.zapsign.model import API_PREFIX
from simulators.zapsign.page import SigningPage


class ZapSignSimulator(SigningPage):
    """The ZapSign simulator (the package docstring says what it implements): every concern on one server."""

    name = "zapsign"

    def _register_routes(self) -> None:
        api: list[tuple[str, str, list[str], View]] = [
            ("/docs/", "create_document", ["POST"], self._create_document),
            ("/docs/", "list_documents", ["GET"], self._list_documents),
            ("/docs/<token>/", "get_document", ["GET"], self._get_document),
            ("/docs/<token>/", "delete_document", ["DELETE"], self._delete_document),
            ("/docs/<token>/upload-extra-doc/", "add_extra_document", ["POST"], self._add_extra_document),
            ("/docs/<token>/reprocess-doc/", "reprocess_document", ["POST"], self._reprocess_document),
            ("/refuse/", "refuse_document", ["POST"], self._refuse_document),
            ("/signers/<token>/", "get_signer", ["GET"], self._get_signer),
            ("/user/company/webhook/", "create_webhook", ["POST"], self._create_webhook),
            ("/user/company/webhook/header/", "add_webhook_headers", ["POST"], self._add_webhook_headers),
            ("/user/company/webhook/delete/", "delete_webhook", ["DELETE"], self._delete_webhook),
            ("/info-plan/", "info_plan", ["GET"], self._info_plan),
        ]
        for rule, endpoint, methods, view in api:
            self.route(API_PREFIX + rule, endpoint, methods, self._api(view))
        self.route("/files/<name>", "file", ["GET"], self._serve_file)
        self.route("/verificar/<token>", "signing_page", ["GET"], self._signing_page)
        self.route("/verificar/<token>/sign", "signing_page_sign", ["POST"], self._signing_page_sign)
        control: list[tuple[str, str, list[str], View]] = [
            ("docs", "documents", ["GET"], self._control_documents),
            ("docs/<token>/expire", "expire", ["POST"], self._control_expire),
            ("docs/<token>/events", "event", ["POST"], self._control_event),
            ("signers/<token>/open", "open", ["POST"], self._control_open),
            ("signers/<token>/photos", "photos", ["POST"], self._control_photos),
            ("signers/<token>/sign", "sign", ["POST"], self._control_sign),
            ("signers/<token>/refuse", "refuse", ["POST"], self._control_refuse),
            ("email-bounce", "email_bounce", ["POST"], self._control_email_bounce),
            ("webhooks", "webhooks", ["GET"], self._control_webhooks),
            ("webhooks/flush", "webhooks_flush", ["POST"], self._control_flush),
            ("clock", "clock", ["GET", "POST"], self._control_clock),
            ("config", "config", ["GET", "POST"], self._control_config),
        ]
        for rule, endpoint, methods, view in control:
            self.route(f"/_sim/zapsign/{rule}", f"sim_zapsign_{endpoint}", methods, self._control(view))
