"""What signers and time do to a document: open the link, take the photos, sign, refuse, expire; and events sent on
demand. The control API and tests call these; each fires the webhooks ZapSign would."""

from __future__ import annotations

from typing import Any

from simulators.images import png_image
from simulators.pdf import stamp_pdf
from simulators.zapsign.model import KNOWN_EVENTS, ActionError, SimDocument
from simulators.zapsign.parsing import _parse_deadline
from simulators.zapsign.serializers import _timestamp
from simulators.zapsign.webhooks import WebhookEmitter


class SignerActions(WebhookEmitter):
    def find_documents(self, *, external_id: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [
                self._document_json(document)
                for document in self.documents.values()
                if (external_id is None or document.options["external_id"] == external_id)
                and (status is None or document.status == status)
            ]

    def open_link(self, signer_token: str) -> dict[str, Any]:
        """The signer opens the signing link: `link-opened`, `times_viewed` + 1, fires `doc_viewed`."""
        with self.lock:
            document, signer = self._signer_and_document(signer_token)
            now = self.now()
            if signer.status == "new":
                signer.status = "link-opened"
            signer.times_viewed += 1
            signer.last_view_at = document.last_update_at = now
            # §4.4 doc_viewed: the signer object also carries the notification that brought them.
            viewer = {
                **self._signer_json(signer),
                "notification_type": "request",
                "notification_channel": "email" if signer.fields["send_automatic_email"] else "whatsapp",
                "sent_at": _timestamp(document.created_at),
            }
            self._emit("doc_viewed", document, {"signer_who_viewed": viewer})
            return self._signer_json(signer)

    def upload_photos(
        self, signer_token: str, *, document: bool = True, verse: bool = True, selfie: bool = True
    ) -> dict[str, Any]:
        """The signer takes the ID photos (front, back) and the selfie: served as expiring PNG links."""
        with self.lock:
            doc, signer = self._signer_and_document(signer_token)
            self._require_in_progress(doc)
            if signer.status == "signed":
                raise ActionError(409, "signer already signed")
            if document:
                signer.document_photo = self._store(png_image(96, 60, (40, 90, 200), signer.token), "png")
            if verse:
                signer.document_verse_photo = self._store(png_image(96, 60, (40, 160, 90), signer.token), "png")
            if selfie:
                signer.selfie_photo = self._store(png_image(60, 80, (220, 150, 90), signer.token), "png")
            doc.last_update_at = self.now()
            return self._signer_json(signer)

    def sign(
        self, signer_token: str, *, geo_latitude: str = "-23.559298", geo_longitude: str = "-46.683343"
    ) -> dict[str, Any]:
        """The signer signs. Photos the document requires and the signer has not taken are taken first (the signing
        page would not let them sign without). Fires one `doc_signed`; the doc is `signed` after the last signer."""
        with self.lock:
            document, signer = self._signer_and_document(signer_token)
            self._require_in_progress(document)
            if signer.status == "signed":
                raise ActionError(409, "signer already signed")
            if document.options["signature_order_active"]:
                order = signer.fields["order_group"] or 0
                waiting = [
                    other
                    for other in document.signers
                    if other.status != "signed" and (other.fields["order_group"] or 0) < order
                ]
                if waiting:
                    raise ActionError(409, "an earlier signer in the signing order has not signed")
            fields = signer.fields
            self.upload_photos(
                signer_token,
                document=bool(fields["require_document_photo"]) and signer.document_photo is None,
                verse=bool(fields["require_document_photo"]) and signer.document_verse_photo is None,
                selfie=bool(fields["require_selfie_photo"]) and signer.selfie_photo is None,
            )
            now = self.now()
            if signer.status == "new":
                signer.times_viewed += 1
                signer.last_view_at = now
            signer.status = "signed"
            signer.signed_at = document.last_update_at = now
            signer.geo_latitude, signer.geo_longitude, signer.ip = geo_latitude, geo_longitude, "127.0.0.1"
            if all(other.status == "signed" for other in document.signers):
                document.status = "signed"
            # GUESS (docs/providers/zapsign.md §5 item 10): signed_file null until everyone signed, unless configured.
            if document.status == "signed" or self.config.partial_signed_file:
                self._regenerate_signed_files(document)
            self._emit("doc_signed", document, {"signer_who_signed": self._signer_json(signer)})
            return self._document_json(document)

    def refuse_by_signer(self, signer_token: str, rejected_reason: str = "Recusado pelo signatário") -> dict[str, Any]:
        """The signer refuses on the signing page: doc `refused_status`, `rejected_reason`, fires `doc_refused`."""
        with self.lock:
            document, _signer = self._signer_and_document(signer_token)
            self._require_in_progress(document)
            self._refuse(document, rejected_reason)
            return self._document_json(document)

    def expire(self, doc_token: str) -> dict[str, Any]:
        """The deadline passed: fires `doc_expired`. The status stays `pending` (no expired status is documented,
        §4.4); the simulator refuses further signatures."""
        with self.lock:
            document = self._document(doc_token)
            self._require_in_progress(document)
            document.expired = True
            deadline = document.options["date_limit_to_sign"]
            moment = _parse_deadline(deadline) if deadline else self.now()
            expiration = moment.isoformat(timespec="microseconds")  # "…+00:00" as in the §4.4 example
            self._emit("doc_expired", document, {"expiration_date": expiration})
            return self._document_json(document)

    def send_event(self, doc_token: str, event_type: str, extra: dict[str, Any] | None = None) -> int:
        """Send any event (typically an unknown one) with the document serializer; returns deliveries queued."""
        with self.lock:
            document = self._document(doc_token)
            return self._emit(event_type, document, extra, unknown=event_type not in KNOWN_EVENTS)

    def email_bounce(self, token: str, email: str = "bounce@example.invalid") -> int:
        """An `email_bounce` (§4.4: not a document payload). `token` is whatever token you pass (the docs do not
        say whether it is the document's or the signer's, §5 item 18)."""
        with self.lock:
            signer = self.signers.get(token)
            doc_token = signer.doc_token if signer else token
            body = {
                "email": email,
                "token": token,
                "type": "link_email",
                "status": "dropped",
                "status_code": None,
                "error": "ZapSign did not send the message to this email address because there was a previous "
                "delivery failure to this same email.",
                "delivered": False,
                "event_type": "email_bounce",
            }
            return self._emit("email_bounce", None, body=body, doc_token=doc_token)

    def _refuse(self, document: SimDocument, reason: str) -> None:
        document.status = self.config.refused_status
        document.rejected_reason = reason
        document.last_update_at = self.now()
        self._emit("doc_refused", document)

    def _regenerate_signed_files(self, document: SimDocument, label: str | None = None) -> None:
        """The signed files, made anew from the originals: a page naming the signers, then one PAdES signature by
        ZapSign's own (test) certificate, as ZapSign's signed files carry (the signing faults in force apply)."""
        names = ", ".join(signer.fields["name"] for signer in document.signers if signer.status == "signed")
        stamp = label or f"Assinado via ZapSign (simulador) por: {names}"

        def signed(original: str) -> str:
            return self._store(self.signatures.sign_as_platform(stamp_pdf(self.files[original].data, stamp)), "pdf")

        document.signed_file = signed(document.original_file)
        for extra in document.extra_docs:
            extra.signed_file = signed(extra.original_file)
