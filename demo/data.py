"""The demo's test data: fake signers, fake PDFs and `POST /v1/requests` bodies (nothing in them is real)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

from simulators.images import png_image
from simulators.pdf import make_pdf

FAKE_MARK = "FAKE DEMO SIGNER"


_FAKE_PEOPLE = (
    ("Ana", "Demo", "Garcia", "ES"),
    ("Bruno", "Demo", "Silva", "BR"),
    ("Carla", "Demo", "Sousa", "PT"),
)


def fake_signers(count: int = 1, *, workflow: str = "zapsign_oneshot", run: str | None = None) -> list[dict[str, Any]]:
    """Signers with realistic-looking but FAKE data (example.com addresses, a made-up ID number, a phone number
    unique to this run so its SMS code can be told apart). ID images only for `oneshot`, as the API wants."""
    tag = run or secrets.token_hex(3)
    signers: list[dict[str, Any]] = []
    for index in range(count):
        given, first, second, country = _FAKE_PEOPLE[index % len(_FAKE_PEOPLE)]
        digits = int(hashlib.sha256(f"{tag}:{index}".encode()).hexdigest()[:8], 16) % 10_000_000
        signer: dict[str, Any] = {
            "name": f"{given} {first} {second} ({FAKE_MARK})",
            "email": f"{given.lower()}.{second.lower()}.{tag}.{index}@example.com",
            "phone": f"+3469{digits:07d}",
            "given_name": given,
            "first_surname": first,
            "second_surname": second,
            "id_number": f"DEMO{digits:07d}",
            "id_document_type": "IDC",
            "id_document_country": country,
        }
        if workflow == "oneshot":
            signer["document_front"] = _b64(png_image(48, 30, (40, 90, 200)))
            signer["document_rear"] = _b64(png_image(48, 30, (40, 160, 90)))
            signer["document_owner"] = _b64(png_image(30, 40, (220, 150, 90)))
        signers.append(signer)
    return signers


def demo_pdf(title: str, run: str) -> bytes:
    return make_pdf(f"{title}\nSignBridge local demo, run {run}\nFAKE DOCUMENT: nothing here is real.")


def request_body(
    workflow: str = "zapsign_oneshot",
    *,
    signers: int = 1,
    documents: int = 1,
    run: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """A `POST /v1/requests` body with inline PDFs and fake signers."""
    tag = run or secrets.token_hex(3)
    titles = ["Service agreement", *(f"Annex {number}" for number in range(1, documents))]
    return {
        "workflow": workflow,
        "signers": fake_signers(signers, workflow=workflow, run=tag),
        "documents": [
            {"name": f"{title.lower().replace(' ', '-')}-{tag}.pdf", "content_base64": _b64(demo_pdf(title, tag))}
            for title in titles
        ],
        "external_id": f"demo-{tag}",
        "metadata": {"source": "signbridge-local-demo"},
        **options,
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
