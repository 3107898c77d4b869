"""What an operation may use: the stores and the provider clients, as ports (`signbridge.workflow.ports`).

`Services` is what every use case and worker operation takes. It names ports only: the concrete services (DynamoDB,
S3, SQS, Secrets Manager, ZapSign, One-Shot) are built by the composition root, `signbridge.wiring`, which only the
handlers (and tests) import. Unit tests subclass `Services` with in-memory fakes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from signbridge.config import Settings
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import utc_now
from signbridge.workflow.ports import (
    DeadLetterQueues,
    FileDownloads,
    FileStore,
    IdempotencyStore,
    OneShotClient,
    QueueSender,
    RecordStore,
    Sealer,
    SecretStore,
    SignatureVerifier,
    ZapSignClient,
)


@dataclass
class Services(ABC):
    settings: Settings
    records: RecordStore
    files: FileStore
    queues: QueueSender
    secrets: SecretStore
    idempotency: IdempotencyStore
    clock: Callable[[], datetime] = utc_now
    dead_letters: DeadLetterQueues | None = None
    """The work queues' dead-letter queues (the housekeeper drops those of finished requests); None: not available."""
    sealer: Sealer | None = None
    """What seals evidence packages (a KMS key); None: this deployment has no evidence key."""

    @abstractmethod
    def zapsign(self) -> ZapSignClient:
        """The ZapSign client for the current API token."""

    @abstractmethod
    def oneshot(self) -> OneShotClient:
        """The One-Shot client for the current credentials."""

    @abstractmethod
    def downloads(self) -> FileDownloads:
        """What fetches provider file links (ZapSign's presigned S3 links, evidence images)."""

    @abstractmethod
    def verifier(self) -> SignatureVerifier:
        """What validates the signatures of a signed PDF against the configured trust anchors (docs/evidence.md)."""


Operation = Callable[[Services, OperationMessage], None]
"""A worker operation: reads the request, does one step, records the result (see `signbridge.domain.operations`)."""
