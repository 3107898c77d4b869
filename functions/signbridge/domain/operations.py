"""The worker's operations: their names and the queue each runs on (`signbridge.workflow.registry` maps them to code).

An operation (`signbridge.workflow.services.Operation`) is `(services, message) -> None`. It reads the request,
does one step, records the result with a conditional write, and lets `signbridge.workflow.progress.advance`
enqueue what comes next (see docs/workflows.md). Raising a provider's `RetryableError` (or a lost race,
`ConcurrentUpdateError`) hands the message back to the queue; everything else an operation decides itself (a
permanent provider error fails the request).
"""

from __future__ import annotations

from enum import StrEnum


class Queue(StrEnum):
    """Which provider's operations a message carries: each provider has its own queue and concurrency cap."""

    ZAPSIGN = "zapsign"
    ONESHOT = "oneshot"


class Op(StrEnum):
    CREATE_ZAPSIGN_DOCUMENT = "create_zapsign_document"
    SYNC_ZAPSIGN_DOCUMENT = "sync_zapsign_document"
    ARCHIVE_ZAPSIGN_DOCUMENT = "archive_zapsign_document"
    ARCHIVE_ZAPSIGN_EVIDENCE = "archive_zapsign_evidence"
    CANCEL_ZAPSIGN_DOCUMENT = "cancel_zapsign_document"
    CREATE_ONESHOT_REQUEST = "create_oneshot_request"
    UPLOAD_ONESHOT_DOCUMENT = "upload_oneshot_document"
    STORE_ONESHOT_CONTRACT = "store_oneshot_contract"
    SEND_ONESHOT_OTP = "send_oneshot_otp"
    CONFIRM_ONESHOT_SIGNATURE = "confirm_oneshot_signature"
    RETRIEVE_ONESHOT_DOCUMENT = "retrieve_oneshot_document"
    DELETE_ONESHOT_DOCUMENTS = "delete_oneshot_documents"
    CANCEL_ONESHOT_REQUEST = "cancel_oneshot_request"
    BUILD_EVIDENCE_PACKAGE = "build_evidence_package"

    @property
    def queue(self) -> Queue:
        """ZapSign's operations on its queue; the others (One-Shot's, and the evidence package, which calls no
        provider) on the One-Shot queue."""
        return Queue.ZAPSIGN if "zapsign" in self.value else Queue.ONESHOT
