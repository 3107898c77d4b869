"""The ZapSign operations of the worker (docs/workflows.md, queue `zapsign-ops`), one module per family.

Each operation reads the request into a `Step` (one Query), returns at once when the state says its work is done or
no longer wanted, calls ZapSign, records its result through the `Step` (one conditional write), then lets the `Step`
plan what comes next without reading again. Contract: `docs/providers/zapsign.md` (sections cited as §n).

- `create.py`, `create_zapsign_document`: `POST docs/` with the first document, `upload-extra-doc/` for each other
  one. ZapSign's create is not idempotent (each call is a new document and a credit), so its intent is recorded first
  (`Document.zapsign_create_started_at` on document 0) and each token as soon as it arrives; a retry resumes with
  what is missing. An uncertain create is resolved by looking in the request's own ZapSign folder.
- `sync.py`, `sync_zapsign_document`: `GET docs/{token}/` is the truth (a webhook is only a hint) → signer
  sub-statuses, and the request `zapsign_pending → zapsign_signed | refused | cancelled`.
- `archive.py`, `archive_zapsign_document`: a fresh link (they last 60 minutes, §3.2), streamed to S3; and
  `archive_zapsign_evidence`: `zapsign_oneshot` only, the signer's ID photos and selfie, streamed to S3.
- `cancel.py`, `cancel_zapsign_document`: `POST refuse/` for a request that ended before it was signed.
- `common.py`: what several families share (the main document's Detail, the request id of a message).

Nothing here logs personal data or provider tokens: log lines carry the request id, indexes and statuses.
"""

from __future__ import annotations

from signbridge.domain.operations import Op
from signbridge.workflow.services import Operation
from signbridge.workflow.zapsign.archive import archive_zapsign_document, archive_zapsign_evidence
from signbridge.workflow.zapsign.cancel import cancel_zapsign_document
from signbridge.workflow.zapsign.create import create_zapsign_document
from signbridge.workflow.zapsign.sync import sync_zapsign_document

OPERATIONS: dict[Op, Operation] = {
    Op.CREATE_ZAPSIGN_DOCUMENT: create_zapsign_document,
    Op.SYNC_ZAPSIGN_DOCUMENT: sync_zapsign_document,
    Op.ARCHIVE_ZAPSIGN_DOCUMENT: archive_zapsign_document,
    Op.ARCHIVE_ZAPSIGN_EVIDENCE: archive_zapsign_evidence,
    Op.CANCEL_ZAPSIGN_DOCUMENT: cancel_zapsign_document,
}
"""The zapsign operations of the worker (see docs/workflows.md)."""
