"""Where the worker's verifier takes its trust anchors from (`wiring.AwsServices.verifier`, docs/evidence.md): the
stage's S3 object on AWS (here moto), a file on the local stack; and nothing verifies without either."""

from __future__ import annotations

import io
from typing import Any

import pytest

from signbridge.config import Settings
from signbridge.domain.verification import Indication
from signbridge.storage.files import FileStore
from signbridge.storage.idempotency import IdempotencyStore
from signbridge.storage.queues import QueueSender
from signbridge.storage.secrets import SecretStore
from signbridge.wiring import TrustAnchorsMissingError
from signbridge.workflow.services import Services
from simulators.pdf import make_pdf
from simulators.signatures import Signatures
from simulators.signatures.pki import TestPki
from tests.support.memory import NOW
from tests.support.services import services_on_fixtures

ANCHORS_KEY = "config/trust-anchors.pem"


@pytest.fixture
def make_services(
    *,
    settings: Settings,
    table: str,
    dynamodb_client: Any,
    file_store: FileStore,
    queue_sender: QueueSender,
    secret_store: SecretStore,
    idempotency_store: IdempotencyStore,
) -> Any:
    def make(**updates: Any) -> Services:
        return services_on_fixtures(
            settings=settings,
            table=table,
            dynamodb_client=dynamodb_client,
            file_store=file_store,
            queue_sender=queue_sender,
            secret_store=secret_store,
            idempotency_store=idempotency_store,
            clock=lambda: NOW,
            **updates,
        )

    return make


def test_on_aws_the_anchors_come_from_the_stage_s3_object(make_services: Any, file_store: FileStore) -> None:
    # Given the simulators' root uploaded where the stage config says, and no file configured
    pem = TestPki.shared().trust_anchors_pem().encode()
    file_store.store_bytes(ANCHORS_KEY, pem, expect_pdf=False, max_bytes=len(pem), content_type="text/plain")
    services = make_services(trust_anchors_file=None, trust_anchors_key=ANCHORS_KEY)
    # When ZapSign's signed file is verified
    report = services.verifier().verify(io.BytesIO(Signatures().sign_as_platform(make_pdf("contract"))))
    # Then its signature chains to that root
    assert report.indication is Indication.TOTAL_PASSED
    assert services.verifier() is services.verifier()  # read once per warm Lambda


def test_without_anchors_nothing_is_verified(make_services: Any) -> None:
    services = make_services(trust_anchors_file=None, trust_anchors_key=None)
    with pytest.raises(TrustAnchorsMissingError, match="no trust anchors configured"):
        services.verifier()
