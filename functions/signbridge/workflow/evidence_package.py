"""`build_evidence_package`, the worker step that builds a request's sealed evidence package.

- `build_evidence_package` (a worker operation, queued by the planner when the request reaches `completed`, by
  `rebuild_evidence`, or by the reconciler for a completed request whose package is missing): reads every file of the
  package from S3 one at a time into a ZIP in a spooled temporary file (memory up to `SPOOL_MEMORY_BYTES`, then
  disk), hashing each as it streams; writes `manifest.json`, has KMS sign its SHA-256 (`Sealer`), adds
  `manifest.sig`, `seal.json` and `README.txt`; uploads the ZIP with the file store's streamed upload to
  `packages/{request}/evidence.zip`; records key, version, sha256, size and build time on the request with a timeline
  entry. What goes in and the manifest's shape: `signbridge.domain.evidence`.

The API's side (ask for a rebuild, read the package's record) is `signbridge.workflow.evidence`, which imports none of
this (no ZIP code in the API function).

No personal data is logged: the request id, counts and sizes only.
"""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from aws_lambda_powertools import Logger

from signbridge.domain import keys
from signbridge.domain.errors import StoredFileNotFoundError
from signbridge.domain.evidence import (
    MANIFEST_PATH,
    README_PATH,
    SEAL_PATH,
    SIGNATURE_PATH,
    EntryKind,
    Manifest,
    ManifestFile,
    Omission,
    PackageEntry,
    manifest_bytes,
    omissions,
    package_entries,
    readme_text,
    report_path,
    seal_bytes,
    seal_document,
    timeline_bytes,
)
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import Cause, RequestAggregate, RequestStatus
from signbridge.workflow.ports import Sealer
from signbridge.workflow.services import Services
from signbridge.workflow.step import Step

logger = Logger(child=True)

SPOOL_MEMORY_BYTES: Final = 8 * 1024 * 1024
"""The ZIP is built in memory up to this size, then in a temporary file (Lambda's /tmp)."""
PACKAGE_MAX_BYTES: Final = 5 * 1024 * 1024 * 1024
"""The largest package stored (S3 takes far more; a request's files are at most 15 documents times their stages)."""
READ_CHUNK_BYTES: Final = 1024 * 1024
ZIP_CONTENT_TYPE: Final = "application/zip"
_STORED_KINDS: Final = frozenset(
    {EntryKind.ORIGINAL, EntryKind.SIGNED_PDF, EntryKind.LONG_TERM_PDF, EntryKind.CONTRACT, EntryKind.ID_IMAGE}
)
"""Already compressed (PDF, JPEG, PNG): stored as they are; the JSON files are deflated."""


class EvidenceKeyMissingError(RuntimeError):
    """The deployment has no evidence key: nothing can be sealed (`SIGNBRIDGE_EVIDENCE_KEY_ID`)."""


# ------------------------------------------------------------------------------------------------ the worker step


def build_evidence_package(services: Services, message: OperationMessage) -> None:
    request_id = message.request_id
    if request_id is None:
        raise ValueError("build_evidence_package needs a request id")
    step = Step.read(services, request_id, cause=Cause.WORKER, correlation_id=message.correlation_id)
    request = step.request
    if not request.evidence_pending:
        logger.info("no evidence package to build", extra={"request_id": request_id, "status": request.status.value})
        return
    if services.sealer is None:
        raise EvidenceKeyMissingError("no evidence key is configured: the package cannot be sealed")
    built = build_package(services, step.aggregate, services.sealer)
    step.record(
        f"evidence package built: {built.file_count} files, {built.size} bytes, manifest sealed with KMS",
        {
            "evidence_key": built.key,
            "evidence_version_id": built.version_id,
            "evidence_sha256": built.sha256,
            "evidence_size": built.size,
            "evidence_built_at": built.built_at,
        },
    )
    logger.info(
        "evidence package built",
        extra={"request_id": request_id, "files": built.file_count, "bytes": built.size},
    )


@dataclass(frozen=True)
class BuiltPackage:
    key: str
    version_id: str | None
    sha256: str
    size: int
    built_at: datetime
    file_count: int
    manifest: Manifest


def build_package(services: Services, aggregate: RequestAggregate, sealer: Sealer) -> BuiltPackage:
    """Build, seal and store the package of `aggregate` (see the module docstring); S3 reads one file at a time."""
    request = aggregate.request
    built_at = services.clock()
    report_keys = [item.key for item in services.files.list_objects(keys.reports_prefix(request.id))]
    zapsign_log = request.workflow.uses_zapsign and _exists(services, keys.zapsign_log_key(request.id))
    entries = package_entries(aggregate, report_keys=report_keys, zapsign_log=zapsign_log)
    left_out = list(
        omissions(
            zapsign_log=zapsign_log,
            include_id_images=request.evidence_include_id_images,
            uses_zapsign=request.workflow.uses_zapsign,
        )
    )
    reports = {(entry.document, entry.stage) for entry in entries if entry.kind is EntryKind.REPORT}
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES) as spool:
        with zipfile.ZipFile(spool, "w", allowZip64=True) as archive:
            files: list[ManifestFile] = []
            for entry in entries:
                written = _add_entry(services, archive, aggregate, entry, reports)
                if written is None:
                    left_out.append(
                        Omission(kind=entry.kind, reason=f"{entry.path}: recorded on the request but not in storage")
                    )
                    logger.warning(
                        "a recorded file is missing from storage",
                        extra={"request_id": request.id, "kind": entry.kind.value, "path": entry.path},
                    )
                    continue
                files.append(written)
            manifest = Manifest(
                request_id=request.id,
                workflow=request.workflow.value,
                completed_at=_completed_at(aggregate),
                built_at=built_at,
                files=tuple(files),
                omitted=tuple(left_out),
            )
            manifest_data = manifest_bytes(manifest)
            key_arn, signature = sealer.sign_digest(hashlib.sha256(manifest_data).digest())
            seal = seal_document(key_id=key_arn, public_key_pem=sealer.public_key_pem(), signed_at=services.clock())
            _write(archive, MANIFEST_PATH, manifest_data)
            _write(archive, SIGNATURE_PATH, signature, compress=False)
            _write(archive, SEAL_PATH, seal_bytes(seal))
            _write(archive, README_PATH, readme_text(request.id, key_arn).encode())
        spool.seek(0)
        stored = services.files.store_stream(
            keys.package_key(request.id),
            spool,
            expect_pdf=False,
            max_bytes=PACKAGE_MAX_BYTES,
            content_type=ZIP_CONTENT_TYPE,
        )
    return BuiltPackage(
        key=stored.key,
        version_id=stored.version_id,
        sha256=stored.sha256,
        size=stored.size,
        built_at=built_at,
        file_count=len(files),
        manifest=manifest,
    )


def _add_entry(
    services: Services,
    archive: zipfile.ZipFile,
    aggregate: RequestAggregate,
    entry: PackageEntry,
    reports: set[tuple[int | None, str | None]],
) -> ManifestFile | None:
    """Stream one entry into the ZIP, hashing it on the way; None when its object is not in storage."""
    report = (
        report_path(entry.document, entry.stage)
        if entry.kind is EntryKind.SIGNED_PDF
        and entry.document is not None
        and entry.stage is not None
        and (entry.document, entry.stage) in reports
        else None
    )
    common = {
        "path": entry.path,
        "kind": entry.kind,
        "source_key": entry.source_key,
        "document": entry.document,
        "signer": entry.signer,
        "stage": entry.stage,
        "report": report,
    }
    if entry.source_key is None:  # built here: the timeline
        data = timeline_bytes(aggregate)
        _write(archive, entry.path, data)
        return ManifestFile(**common, sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    try:
        stream = services.files.open_stream(entry.source_key)
    except StoredFileNotFoundError:
        return None
    hasher = hashlib.sha256()
    size = 0
    with stream, archive.open(_info(entry.path, compress=entry.kind not in _STORED_KINDS), "w") as target:
        for chunk in stream.iter_chunks(READ_CHUNK_BYTES):
            hasher.update(chunk)
            size += len(chunk)
            target.write(chunk)
    return ManifestFile(**common, sha256=hasher.hexdigest(), size=size, s3_version_id=stream.version_id)


def _info(path: str, *, compress: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def _write(archive: zipfile.ZipFile, path: str, data: bytes, *, compress: bool = True) -> None:
    with archive.open(_info(path, compress=compress), "w") as target:
        target.write(data)


def _exists(services: Services, key: str) -> bool:
    try:
        services.files.head(key)
    except StoredFileNotFoundError:
        return False
    return True


def _completed_at(aggregate: RequestAggregate) -> datetime:
    """When the request moved to completed (its timeline), else its status time."""
    completed = [
        entry.at
        for entry in aggregate.timeline
        if entry.to_status == RequestStatus.COMPLETED.value and entry.from_status != RequestStatus.COMPLETED.value
    ]
    return completed[-1] if completed else aggregate.request.status_since
