"""What each function does in the file bucket, per key prefix: the one declaration the stack grants from.

Read from the code (`signbridge.storage.files.FileStore` and its callers in `signbridge.workflow`); the stack turns
it into IAM statements (`SignBridgeStack._grant`) and tests/infra/test_file_access.py checks that the synthesized
roles allow exactly this, nothing less and nothing more. Change a function's use of the bucket here first.

A `FileStore` operation becomes these S3 calls, and so needs these IAM actions:

- READ (`head`, `open_stream`, `presigned_get`): HeadObject, GetObject or a link to it -> `s3:GetObject`.
- PUT (`store_bytes`/`store_stream` of a source capped below `MIN_PART_SIZE`, so never multipart): one PutObject
  -> `s3:PutObject`.
- STORE (`store_stream`/`store_bytes` of a large file): PutObject, or Create/UploadPart/CompleteMultipartUpload (the
  sha256 goes to DynamoDB, so nothing is copied afterwards); on failure AbortMultipartUpload -> `s3:PutObject`,
  `s3:AbortMultipartUpload`.
- UPLOAD (`presigned_post`): the client's POST is signed with the function's role -> `s3:PutObject`.
- DELETE (`delete`): DeleteObject (a delete marker, the bucket is versioned) -> `s3:DeleteObject`.
- LIST (`list_objects`): ListObjectsV2 under the prefix -> `s3:ListBucket` with an `s3:prefix` condition.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

from signbridge import api_routes
from signbridge.domain import keys


class FileOp(StrEnum):
    READ = "read"
    PUT = "put"
    STORE = "store"
    UPLOAD = "upload"
    DELETE = "delete"
    LIST = "list"


# Object-level IAM actions per operation (LIST is bucket-level: `s3:ListBucket` with an `s3:prefix` condition).
OBJECT_ACTIONS: Final[Mapping[FileOp, tuple[str, ...]]] = {
    FileOp.READ: ("s3:GetObject",),
    FileOp.PUT: ("s3:PutObject",),
    FileOp.STORE: ("s3:PutObject", "s3:AbortMultipartUpload"),
    FileOp.UPLOAD: ("s3:PutObject",),
    FileOp.DELETE: ("s3:DeleteObject",),
    FileOp.LIST: (),
}
LIST_ACTION: Final = "s3:ListBucket"

RAW_ZAPSIGN_PREFIX: Final = f"{keys.RAW_PREFIX}zapsign/"
RAW_ONESHOT_PREFIX: Final = f"{keys.RAW_PREFIX}oneshot/"

R, P, S, U, D, L = FileOp.READ, FileOp.PUT, FileOp.STORE, FileOp.UPLOAD, FileOp.DELETE, FileOp.LIST

FILE_ACCESS: Final[Mapping[str, Mapping[str, frozenset[FileOp]]]] = {
    # requests.create_request: upload links to incoming/, inline PDFs stored to originals/ (up to max_file_bytes),
    # ID images to evidence/ (capped at MAX_ID_IMAGE_BYTES); views: download links to originals, signed files,
    # contracts and validation reports (never to evidence).
    api_routes.API: {
        keys.INCOMING_PREFIX: frozenset({U}),
        keys.ORIGINALS_PREFIX: frozenset({S, R}),
        keys.EVIDENCE_PREFIX: frozenset({P}),
        keys.SIGNED_PREFIX: frozenset({R}),
        keys.CONTRACTS_PREFIX: frozenset({R}),
        keys.PACKAGES_PREFIX: frozenset({R}),  # evidence: a download link to the sealed package
        keys.REPORTS_PREFIX: frozenset({R}),
    },
    # signer_page views: download links to the document this signer signs (the original, ZapSign's or the previous
    # signer's output), their signed output and their contract (never to evidence).
    api_routes.SIGNER_PAGE: {
        keys.ORIGINALS_PREFIX: frozenset({R}),
        keys.SIGNED_PREFIX: frozenset({R}),
        keys.CONTRACTS_PREFIX: frozenset({R}),
    },
    # webhooks._store_raw: the raw body (capped at RAW_EVENT_MAX_BYTES) under raw/{provider}/.
    api_routes.ZAPSIGN_WEBHOOK: {RAW_ZAPSIGN_PREFIX: frozenset({P})},
    api_routes.ONESHOT_WEBHOOK: {RAW_ONESHOT_PREFIX: frozenset({P})},
    # intake.accept_upload: streams incoming/ into originals/ (up to max_file_bytes), deletes a refused original and
    # the upload.
    "intake": {
        keys.INCOMING_PREFIX: frozenset({R, D}),
        keys.ORIGINALS_PREFIX: frozenset({S, D}),
    },
    # workflow/zapsign: reads originals (head, stream), stores the signed PDF and the signers' ID images (capped at
    # MAX_ID_IMAGE_BYTES); workflow/oneshot: reads the ID images and the input PDF (original or previous signed file),
    # stores contracts and signed PDFs; before storing a signed PDF or a contract, heads its key for the file an
    # attempt killed before its record stored there (workflow/stored_earlier.py); workflow/verification: reads the
    # trust anchors (config/) once per warm Lambda, stores each signed file's validation report (reports/, a few KiB
    # of JSON) and the long-term copy of a file that passed (signed/).
    # workflow/evidence_package: reads every file of a completed request (originals, signed PDFs, ID images,
    # contracts, raw webhooks, ZapSign's activity history: head then stream), lists and reads its validation reports,
    # and stores the ZIP (multipart when large).
    "worker": {
        keys.ORIGINALS_PREFIX: frozenset({R}),
        keys.SIGNED_PREFIX: frozenset({R, S}),
        keys.EVIDENCE_PREFIX: frozenset({R, P}),
        keys.CONTRACTS_PREFIX: frozenset({R, S}),
        RAW_ZAPSIGN_PREFIX: frozenset({R}),
        RAW_ONESHOT_PREFIX: frozenset({R}),
        keys.REPORTS_PREFIX: frozenset({R, L, P}),
        keys.LOGS_PREFIX: frozenset({R}),
        keys.PACKAGES_PREFIX: frozenset({S}),
        keys.CONFIG_PREFIX: frozenset({R}),
    },
    # maintenance.reconcile: table and queues only.
    "reconciler": {},
    # maintenance.housekeep: lists and deletes abandoned or leftover uploads.
    "housekeeper": {keys.INCOMING_PREFIX: frozenset({L, D})},
}


def object_grants(function: str) -> dict[str, frozenset[str]]:
    """prefix -> the object-level IAM actions `function` needs there (prefixes with none left out)."""
    grants: dict[str, frozenset[str]] = {}
    for prefix, operations in FILE_ACCESS[function].items():
        actions = frozenset(action for operation in operations for action in OBJECT_ACTIONS[operation])
        if actions:
            grants[prefix] = actions
    return grants


def listed_prefixes(function: str) -> frozenset[str]:
    """The prefixes `function` lists (`s3:ListBucket` conditioned on `s3:prefix`)."""
    return frozenset(prefix for prefix, operations in FILE_ACCESS[function].items() if FileOp.LIST in operations)
