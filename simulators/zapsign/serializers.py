"""ZapSign's JSON: the full document serializer, extra documents and signers (§3.2, the webhook examples)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from simulators.zapsign.files import FileLinks
from simulators.zapsign.model import TIMESTAMP_FORMAT, SimDocument, SimExtraDoc, SimSigner


def _timestamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


class Serializers(FileLinks):
    def _document_json(self, document: SimDocument) -> dict[str, Any]:
        """The full document serializer (§3.2 and the 2025 webhook examples, superset)."""
        options = document.options
        return {
            "sandbox": self.config.sandbox,
            "external_id": options["external_id"],
            "open_id": document.open_id,
            "token": document.token,
            "name": document.name,
            "folder_path": options["folder_path"],
            "folder_token": None,
            "status": document.status,
            "rejected_reason": document.rejected_reason,
            "lang": options["lang"],
            "original_file": self._link(document.original_file),
            "signed_file": self._link(document.signed_file),
            "extra_docs": [self._extra_doc_json(extra, with_parent=False) for extra in document.extra_docs],
            "created_through": "api",
            "deleted": document.deleted,
            "deleted_at": _timestamp(document.deleted_at),
            "signed_file_only_finished": options["signed_file_only_finished"],
            "disable_signer_emails": options["disable_signer_emails"],
            "brand_logo": options["brand_logo"],
            "brand_primary_color": options["brand_primary_color"],
            "brand_name": options["brand_name"],
            "created_at": _timestamp(document.created_at),
            "last_update_at": _timestamp(document.last_update_at),
            "date_limit_to_sign": options["date_limit_to_sign"],
            "created_by": {"email": "simulator@signbridge.invalid"},
            "template": None,
            "signers": [self._signer_json(signer) for signer in document.signers],
            "answers": [],
            "auto_reminder": options["reminder_every_n_days"],
            "signature_report": None,
            "tsa_country": None,
            "use_timestamp": True,
            "metadata": options["metadata"],
        }

    def _extra_doc_json(self, extra: SimExtraDoc, *, with_parent: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "open_id": extra.open_id,
            "token": extra.token,
            "name": extra.name,
            "original_file": self._link(extra.original_file),
            "signed_file": self._link(extra.signed_file),
        }
        if with_parent:
            body["parent_doc_token"] = extra.parent_token
        return body

    def _signer_json(self, signer: SimSigner) -> dict[str, Any]:
        fields = signer.fields
        return {
            "external_id": fields["external_id"],
            "token": signer.token,
            "status": signer.status,
            "name": fields["name"],
            "lock_name": fields["lock_name"],
            "email": fields["email"],
            "lock_email": fields["lock_email"],
            "hide_email": fields["hide_email"],
            "blank_email": fields["blank_email"],
            "phone_country": fields["phone_country"],
            "phone_number": fields["phone_number"],
            "lock_phone": fields["lock_phone"],
            "hide_phone": fields["hide_phone"],
            "blank_phone": fields["blank_phone"],
            "times_viewed": signer.times_viewed,
            "last_view_at": _timestamp(signer.last_view_at),
            "signed_at": _timestamp(signer.signed_at),
            "auth_mode": fields["auth_mode"],
            "qualification": fields["qualification"],
            "require_selfie_photo": fields["require_selfie_photo"],
            "require_document_photo": fields["require_document_photo"],
            "geo_latitude": signer.geo_latitude,
            "geo_longitude": signer.geo_longitude,
            "redirect_link": fields["redirect_link"],
            "signature_image": None,
            "visto_image": None,
            "document_photo_url": self._link(signer.document_photo) or "",
            "document_verse_photo_url": self._link(signer.document_verse_photo) or "",
            "selfie_photo_url": self._link(signer.selfie_photo) or "",
            "selfie_photo_url2": "",
            "send_via": "email" if fields["send_automatic_email"] else "",
            "resend_attempts": {"whatsapp": 0, "email": 0, "sms": 0},
            "cpf": fields["cpf"],
            "cnpj": "",
            "send_automatic_whatsapp_signed_file": fields["send_automatic_whatsapp_signed_file"],
            "liveness_photo_url": "",
            "selfie_validation_type": fields["selfie_validation_type"],
            "ip": signer.ip,
            # GUESS (docs/providers/zapsign.md §2.1): real links are app.zapsign.com.br/verificar/{token}; ours point at
            # the simulator's own signing page so a person can sign during a local demo.
            "sign_url": f"{self.base_url}/verificar/{signer.token}",
            "order_group": fields["order_group"],
        }
