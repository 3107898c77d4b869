"""Where the worker's verifier takes its trust anchors from (`wiring.AwsServices.verifier`, docs/evidence.md): the
stage's S3 object on AWS (here moto), a file on the local stack; and nothing verifies without either."""

from __future__ import annotations

import io
from typing import Any

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from signbridge.config import Settings
from signbridge.domain.verification import Indication, LongTermLevel
from signbridge.storage.files import FileStore
from signbridge.storage.idempotency import IdempotencyStore
from signbridge.storage.queues import QueueSender
from signbridge.storage.secrets import SecretStore
from signbridge.wiring import TrustAnchorsMissingError
from signbridge.workflow.services import Services
from simulators.oneshot.simulator import OneShotSimulator
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


def test_with_a_tsa_configured_the_long_term_copies_get_an_archive_timestamp(
    make_services: Any, file_store: FileStore, oneshot_simulator: OneShotSimulator
) -> None:
    # Given the stage's anchors, and the simulator's test TSA as the stage's TSA (RFC 3161 over HTTP)
    pem = TestPki.shared().trust_anchors_pem().encode()
    file_store.store_bytes(ANCHORS_KEY, pem, expect_pdf=False, max_bytes=len(pem), content_type="text/plain")
    services = make_services(
        trust_anchors_file=None, trust_anchors_key=ANCHORS_KEY, tsa_url=f"{oneshot_simulator.base_url}/_sim/tsa"
    )
    signed = Signatures().sign_as_platform(make_pdf("contract"))
    # When the long-term copy of a signed file is made
    output = io.BytesIO()
    level = services.verifier().embed_validation_material(io.BytesIO(signed), output)
    # Then it is B-LTA: the file as signed, its DSS and a document timestamp from that TSA
    assert level is LongTermLevel.B_LTA
    copy = output.getvalue()
    assert copy.startswith(signed)
    (archive_timestamp,) = PdfFileReader(io.BytesIO(copy)).embedded_timestamp_signatures
    assert archive_timestamp.sig_object["/SubFilter"] == "/ETSI.RFC3161"
    # And its signature still passes
    report = services.verifier().verify(io.BytesIO(copy))
    assert report.indication is Indication.TOTAL_PASSED


def test_without_a_tsa_the_long_term_copies_are_b_lt(make_services: Any, tmp_path: Any) -> None:
    anchors = tmp_path / "anchors.pem"
    anchors.write_text(TestPki.shared().trust_anchors_pem())
    services = make_services(trust_anchors_file=str(anchors), trust_anchors_key=None, tsa_url=None)
    signed = Signatures().sign_as_platform(make_pdf("contract"))
    output = io.BytesIO()
    assert services.verifier().embed_validation_material(io.BytesIO(signed), output) is LongTermLevel.B_LT
    assert PdfFileReader(io.BytesIO(output.getvalue())).embedded_timestamp_signatures == []
