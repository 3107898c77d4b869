"""`Services` on the per-test moto resources (the fixtures of tests/conftest.py), with a clock and settings overrides
(e.g. a simulator's base URL). The provider kits (tests/support/zapsign.py, oneshot.py) build on it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from signbridge.config import Settings
from signbridge.storage.files import FileStore
from signbridge.storage.idempotency import IdempotencyStore
from signbridge.storage.queues import QueueSender
from signbridge.storage.records import RecordStore
from signbridge.storage.secrets import SecretStore
from signbridge.wiring import AwsServices
from signbridge.workflow.ports import Sealer
from signbridge.workflow.services import Services


def services_on_fixtures(
    *,
    settings: Settings,
    table: str,
    dynamodb_client: Any,
    file_store: FileStore,
    queue_sender: QueueSender,
    secret_store: SecretStore,
    idempotency_store: IdempotencyStore,
    clock: Callable[[], datetime],
    sealer: Sealer | None = None,
    **settings_updates: Any,
) -> Services:
    return AwsServices(
        settings=settings.model_copy(update=settings_updates),
        records=RecordStore(table_name=table, client=dynamodb_client, clock=clock),
        files=file_store,
        queues=queue_sender,
        secrets=secret_store,
        idempotency=idempotency_store,
        clock=clock,
        sealer=sealer,
    )
