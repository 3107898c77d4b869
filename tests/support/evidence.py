"""Evidence packages in tests: a sealer with an EC P-256 key held here (the unit tests' KMS: it really signs), and a
completed request whose files are placed in a file store (memory or S3), signed with the test PKI."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from signbridge.domain import keys
from signbridge.domain.models import IdImageKind, oneshot_stage
from signbridge.verification.pdf import PdfSignatureVerifier
from simulators.pdf import make_pdf
from tests.support.pki import Issued, TestPki

JPEG_BYTES = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"
LOCAL_KEY_ID = "arn:aws:kms:us-east-1:123456789012:key/local-test-key"


class LocalSealer:
    """The `Sealer` port with a P-256 key made here: signs a SHA-256 digest as KMS does (DER ECDSA)."""

    def __init__(self, key_id: str = LOCAL_KEY_ID) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._key_id = key_id
        self.calls = 0

    @property
    def key_id(self) -> str:
        return self._key_id

    def sign_digest(self, digest: bytes) -> tuple[str, bytes]:
        self.calls += 1
        return self._key_id, self._key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))

    def public_key_pem(self) -> str:
        return (
            self._key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )


@dataclass(frozen=True)
class CompletedFiles:
    """What `completed_oneshot_files` placed: the S3 objects by key, and the request fields that name them."""

    objects: dict[str, bytes]
    document: Callable[..., dict[str, object]]
    signer: Callable[..., dict[str, object]]
    request: dict[str, object]


def completed_oneshot_files(
    request_id: str, pki: TestPki, signer: Issued, verifier: PdfSignatureVerifier, *, include_id_images: bool
) -> CompletedFiles:
    """A one-document, one-signer `oneshot` request's files: original, One-Shot-signed PDF (signed with the test
    PKI), its validation report, the service contract, the three ID images and one raw callback."""
    original = make_pdf("Service contract between ACME and Ana")
    signed = pki.sign(original, signer)
    stage = oneshot_stage(0)
    report = verifier.verify(io.BytesIO(signed)).model_dump_json()
    raw_key = keys.raw_event_key("oneshot", "2026-03-02", "a" * 64)
    evidence = {kind: keys.evidence_key(request_id, 0, kind.value) for kind in IdImageKind}
    objects = {
        keys.original_key(request_id, 0): original,
        keys.signed_key(request_id, 0, stage): signed,
        keys.report_key(request_id, 0, stage): report.encode(),
        keys.contract_key(request_id, 0): make_pdf("One-Shot service contract"),
        raw_key: json.dumps({"event_type": "signed", "request": {"pk": 101}}).encode(),
        **dict.fromkeys(evidence.values(), JPEG_BYTES),
    }
    return CompletedFiles(
        objects=objects,
        document=lambda _: {
            "original_key": keys.original_key(request_id, 0),
            "signed_keys": {stage: keys.signed_key(request_id, 0, stage)},
            "final_key": keys.signed_key(request_id, 0, stage),
        },
        signer=lambda _: {"contract_key": keys.contract_key(request_id, 0), "evidence_keys": evidence},
        request={"raw_event_keys": [raw_key], "evidence_include_id_images": include_id_images},
    )
