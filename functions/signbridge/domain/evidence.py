"""The sealed evidence package of a completed request, as data: what goes in it, the manifest, the seal's shape.

One ZIP per request (`keys.package_key`), built by the worker (`signbridge.workflow.evidence`) once the request is
`completed`. This module says which stored objects go in and under which path (`package_entries`), what the manifest
holds (`Manifest`, written by `manifest_bytes`: those exact bytes are what KMS signs), what `seal.json` and
`README.txt` say. No I/O: the worker streams the objects, `signbridge.verification.package` checks a package
offline. docs/evidence.md has the layout and the steps a third party
follows to verify a package with openssl alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from signbridge.domain import keys
from signbridge.domain.models import RequestAggregate

PACKAGE_FORMAT: Final = "signbridge-evidence/1"
MANIFEST_PATH: Final = "manifest.json"
SIGNATURE_PATH: Final = "manifest.sig"
SEAL_PATH: Final = "seal.json"
README_PATH: Final = "README.txt"
TIMELINE_PATH: Final = "timeline.json"
ZAPSIGN_LOG_PATH: Final = "zapsign-log.json"
SEAL_FILES: Final = frozenset({MANIFEST_PATH, SIGNATURE_PATH, SEAL_PATH, README_PATH})
"""The files of a package the manifest does not list: the manifest itself, its signature, and what says how to check
it. Anything else in the ZIP must be listed."""

SIGNING_ALGORITHM: Final = "ECDSA_SHA_256"
"""KMS's name: ECDSA on NIST P-256 over SHA-256 of the manifest's bytes; the signature is DER (X9.62), as openssl's
`dgst -sha256 -verify` reads it."""
MESSAGE_TYPE: Final = "DIGEST"
"""SignBridge hashes the manifest itself and sends KMS the SHA-256 digest (MessageType DIGEST): KMS takes at most
4096 bytes of RAW message, and a manifest of many files is longer. The signature is the same one RAW would give."""


class EntryKind(StrEnum):
    ORIGINAL = "original"
    SIGNED_PDF = "signed_pdf"
    LONG_TERM_PDF = "long_term_pdf"  # a signed PDF with its validation material embedded (PAdES B-LT / B-LTA)
    CONTRACT = "oneshot_contract"
    WEBHOOK = "webhook"
    REPORT = "validation_report"
    ZAPSIGN_LOG = "zapsign_activity_history"
    ID_IMAGE = "id_image"
    TIMELINE = "timeline"


@dataclass(frozen=True)
class PackageEntry:
    """One file of the package: its path in the ZIP and the S3 key it is copied from (None: built, the timeline)."""

    kind: EntryKind
    path: str
    source_key: str | None
    document: int | None = None
    signer: int | None = None
    stage: str | None = None


class ManifestFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    kind: EntryKind
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    source_key: str | None = Field(default=None, description="The S3 key it was copied from; None for built files.")
    s3_version_id: str | None = Field(default=None, description="The S3 version read (None: bucket unversioned).")
    document: int | None = None
    signer: int | None = None
    stage: str | None = None
    report: str | None = Field(default=None, description="A signed PDF's validation report (its path here), if any.")


class Omission(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: EntryKind
    reason: str


class Manifest(BaseModel):
    """`manifest.json`: every file of the package but the seal files, with its sha256, size and S3 version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: str = PACKAGE_FORMAT
    request_id: str
    workflow: str
    completed_at: datetime
    built_at: datetime
    files: tuple[ManifestFile, ...]
    omitted: tuple[Omission, ...] = ()

    def file(self, path: str) -> ManifestFile | None:
        return next((item for item in self.files if item.path == path), None)


def manifest_bytes(manifest: Manifest) -> bytes:
    """The manifest as stored: indented JSON, keys sorted, UTF-8, one final newline. These bytes are signed as they
    are; a verifier never re-serialises them."""
    document = manifest.model_dump(mode="json")
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def read_manifest(data: bytes) -> Manifest:
    return Manifest.model_validate_json(data)


# ------------------------------------------------------------------------------------------------ layout


def original_path(document: int) -> str:
    return f"documents/{document:03d}/original.pdf"


def signed_path(document: int, stage: str) -> str:
    return f"documents/{document:03d}/signed/{stage}.pdf"


def long_term_path(document: int, stage: str) -> str:
    return f"documents/{document:03d}/signed/{stage}.ltv.pdf"


def contract_path(signer: int) -> str:
    return f"contracts/{signer:03d}.pdf"


def report_path(document: int, stage: str) -> str:
    return f"reports/{document:03d}/{stage}.json"


def webhook_path(raw_key: str) -> str:
    """`raw/zapsign/2026-01-31/abc….json` → `webhooks/zapsign/2026-01-31/abc….json`."""
    return "webhooks/" + raw_key.removeprefix(keys.RAW_PREFIX)


def id_image_path(evidence_key: str, request_id: str) -> str:
    """`evidence/{request}/000/document_front.jpg` → `id-images/000/document_front.jpg`."""
    return "id-images/" + evidence_key.removeprefix(f"{keys.EVIDENCE_PREFIX}{request_id}/")


def package_entries(
    aggregate: RequestAggregate, *, report_keys: Iterable[str] = (), zapsign_log: bool = False
) -> list[PackageEntry]:
    """What goes in the package, in order, from the request as recorded and what exists beside it: `report_keys`
    (the objects under `reports/{request}/`), `zapsign_log` (whether ZapSign's activity history is stored). The
    ID images only when the request asked for them. The timeline is built, not copied (`source_key` None)."""
    request = aggregate.request
    request_id = request.id
    entries: list[PackageEntry] = []
    for document in aggregate.documents:
        if document.original_key:
            entries.append(
                PackageEntry(EntryKind.ORIGINAL, original_path(document.index), document.original_key, document.index)
            )
        for stage, key in sorted(document.signed_keys.items(), key=lambda item: _stage_order(item[0])):
            entries.append(
                PackageEntry(
                    EntryKind.SIGNED_PDF, signed_path(document.index, stage), key, document=document.index, stage=stage
                )
            )
            long_term = (document.verifications.get(stage) or {}).get("long_term") or {}
            if long_term.get("key"):
                entries.append(
                    PackageEntry(
                        EntryKind.LONG_TERM_PDF,
                        long_term_path(document.index, stage),
                        str(long_term["key"]),
                        document=document.index,
                        stage=stage,
                    )
                )
    for signer in aggregate.signers:
        if signer.contract_key:
            entries.append(
                PackageEntry(EntryKind.CONTRACT, contract_path(signer.index), signer.contract_key, signer=signer.index)
            )
    reports_prefix = keys.reports_prefix(request_id)
    for key in sorted(report_keys):
        relative = key.removeprefix(reports_prefix)
        document_part, _, file_name = relative.partition("/")
        stage = file_name.removesuffix(".json")
        document_index = int(document_part) if document_part.isdigit() else None
        entries.append(
            PackageEntry(EntryKind.REPORT, f"reports/{relative}", key, document=document_index, stage=stage or None)
        )
    for raw_key in dict.fromkeys(request.raw_event_keys):  # in order, each once
        entries.append(PackageEntry(EntryKind.WEBHOOK, webhook_path(raw_key), raw_key))
    if zapsign_log:
        entries.append(PackageEntry(EntryKind.ZAPSIGN_LOG, ZAPSIGN_LOG_PATH, keys.zapsign_log_key(request_id)))
    if request.evidence_include_id_images:
        for signer in aggregate.signers:
            for _, key in sorted(signer.evidence_keys.items()):
                entries.append(
                    PackageEntry(EntryKind.ID_IMAGE, id_image_path(key, request_id), key, signer=signer.index)
                )
    entries.append(PackageEntry(EntryKind.TIMELINE, TIMELINE_PATH, None))
    return entries


def omissions(*, zapsign_log: bool, include_id_images: bool, uses_zapsign: bool) -> tuple[Omission, ...]:
    """What the manifest says it left out, and why."""
    left_out: list[Omission] = []
    if uses_zapsign and not zapsign_log:
        left_out.append(
            Omission(
                kind=EntryKind.ZAPSIGN_LOG,
                reason="SignBridge does not store ZapSign's activity history of the document (not fetched yet)",
            )
        )
    if not include_id_images:
        left_out.append(
            Omission(kind=EntryKind.ID_IMAGE, reason="the request did not ask for the ID images (personal data)")
        )
    return tuple(left_out)


def timeline_bytes(aggregate: RequestAggregate) -> bytes:
    """The request's timeline as JSON (every status change, oldest first). Timeline entries carry no personal data."""
    entries = [entry.model_dump(mode="json") for entry in aggregate.timeline]
    document = {"request_id": aggregate.request.id, "workflow": aggregate.request.workflow.value, "timeline": entries}
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


def _stage_order(stage: str) -> tuple[int, int]:
    """`zapsign` first, then `oneshot-0`, `oneshot-1`, … in signing order."""
    if stage.startswith("oneshot-") and stage.removeprefix("oneshot-").isdigit():
        return (1, int(stage.removeprefix("oneshot-")))
    return (0, 0)


# ------------------------------------------------------------------------------------------------ the seal


def seal_document(*, key_id: str, public_key_pem: str, signed_at: datetime) -> dict[str, Any]:
    """`seal.json`: which key signed the manifest, how, and how to check it."""
    return {
        "format": PACKAGE_FORMAT,
        "signed_file": MANIFEST_PATH,
        "signature_file": SIGNATURE_PATH,
        "signature_encoding": "DER (ASN.1 ECDSA-Sig-Value, X9.62)",
        "algorithm": SIGNING_ALGORITHM,
        "curve": "NIST P-256 (prime256v1, secp256r1)",
        "digest": "SHA-256 of the exact bytes of manifest.json",
        "kms_message_type": MESSAGE_TYPE,
        "key_id": key_id,
        "public_key_pem": public_key_pem,
        "signed_at": signed_at.isoformat(),
        "verify": [
            "Take the public key of the KMS key in the SignBridge stack's EvidenceKeyArn output, pinned from a source "
            "you trust (public_key_pem here alone proves nothing: compare it first), saved as pub.pem",
            f"openssl dgst -sha256 -verify pub.pem -signature {SIGNATURE_PATH} {MANIFEST_PATH}",
            "sha256sum each file and compare with its sha256 in manifest.json; no file may be missing or extra",
        ],
    }


def seal_bytes(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


def readme_text(request_id: str, key_id: str) -> str:
    """`README.txt`: how a third party checks the package with openssl alone."""
    return f"""SignBridge evidence package of request {request_id}

What it holds: the original and every signed version of each document (documents/), the One-Shot service
contracts (contracts/), the provider webhooks that moved the request (webhooks/), the validation reports of the
signed PDFs (reports/), the request's timeline (timeline.json), and manifest.json, which lists every file with its
sha256, size and the S3 version it was copied from. manifest.json says what was left out, and why ("omitted").

The seal: manifest.sig is an ECDSA P-256 signature (DER) over SHA-256 of manifest.json's exact bytes, made with the
AWS KMS key {key_id}.

How to check it, with openssl and sha256sum alone:

1. Get the key's public key from a source you trust, not from this package: the SignBridge operator publishes it
   (aws kms get-public-key --key-id <key> --query PublicKey --output text | base64 -d > pub.der;
   openssl pkey -pubin -inform DER -in pub.der -out pub.pem). seal.json carries a copy (public_key_pem), which
   proves nothing by itself: compare it with the one you trust.
2. Check the seal:
       openssl dgst -sha256 -verify pub.pem -signature manifest.sig manifest.json
   It must print "Verified OK".
3. Check every file: sha256sum each path listed in manifest.json and compare with its "sha256" (and its "size").
   The ZIP must hold exactly those files plus manifest.json, manifest.sig, seal.json and README.txt.

With SignBridge's command line, all of the above and each signed PDF's signatures against its report:
    signbridge evidence verify evidence.zip --public-key pub.pem
"""
