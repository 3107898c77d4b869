"""The evidence package against moto: the worker step reads the request's files from S3, seals the manifest with a
KMS ECC_NIST_P256 key (moto's, signing a DIGEST as KMS does), stores the ZIP and records it; the API hands out a link
(or 202 / 409 / 404); a rebuild makes a new version; the seal checks with openssl alone."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from signbridge.config import Settings
from signbridge.domain import keys
from signbridge.domain.evidence import MANIFEST_PATH, SEAL_PATH, SIGNATURE_PATH, read_manifest
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import RequestStatus, Workflow, utc_now
from signbridge.domain.operations import Op
from signbridge.storage import clients
from signbridge.storage.files import FileStore
from signbridge.storage.records import RecordStore
from signbridge.storage.seal import KmsSealer
from signbridge.verification.package import check_package
from signbridge.verification.pdf import PdfSignatureVerifier
from signbridge.workflow import evidence
from signbridge.workflow.evidence_package import build_evidence_package
from signbridge.workflow.services import Services
from tests.support.api import ApiClient
from tests.support.evidence import completed_oneshot_files
from tests.support.pki import TestPki
from tests.support.services import services_on_fixtures
from tests.support.stored import drain, place

R = RequestStatus


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki()


@pytest.fixture(scope="module")
def verifier(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> PdfSignatureVerifier:
    bundle = tmp_path_factory.mktemp("anchors") / "trust-anchors.pem"
    bundle.write_bytes(pki.trust_anchors_pem)
    return PdfSignatureVerifier.from_pem_bundle(bundle)


@pytest.fixture
def services(
    *,
    settings: Settings,
    table: str,
    dynamodb_client: Any,
    file_store: FileStore,
    queue_sender: Any,
    secret_store: Any,
    idempotency_store: Any,
    evidence_key: str,
) -> Services:
    return services_on_fixtures(
        settings=settings,
        table=table,
        dynamodb_client=dynamodb_client,
        file_store=file_store,
        queue_sender=queue_sender,
        secret_store=secret_store,
        idempotency_store=idempotency_store,
        clock=utc_now,
        sealer=KmsSealer(evidence_key),
    )


Placed = Callable[..., str]


@pytest.fixture
def completed_request(
    record_store: RecordStore, file_store: FileStore, pki: TestPki, verifier: PdfSignatureVerifier
) -> Placed:
    def _place(*, include_id_images: bool = False) -> str:
        request_id = uuid.uuid4().hex
        files = completed_oneshot_files(
            request_id,
            pki,
            pki.signer("Ana", "García López", "12345678Z"),
            verifier,
            include_id_images=include_id_images,
        )
        for key, data in files.objects.items():
            file_store.store_bytes(key, data, expect_pdf=False, max_bytes=10 * 1024 * 1024)
        place(
            record_store,
            Workflow.ONESHOT,
            R.COMPLETED,
            since=utc_now(),
            request={"id": request_id, **files.request},
            document=files.document,
            signer=files.signer,
        )
        return request_id

    return _place


def build(services: Services, request_id: str) -> None:
    build_evidence_package(
        services,
        OperationMessage(op=Op.BUILD_EVIDENCE_PACKAGE.value, request_id=request_id, correlation_id="corr-build"),
    )


def download(url: str) -> bytes:
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, response.text
    return response.content


def evidence_get(api_client: ApiClient, request_id: str) -> Any:
    return api_client.request("GET", "/v1/requests/{request_id}/evidence", path_parameters={"request_id": request_id})


def test_a_completed_request_gets_a_sealed_package_that_verifies_with_the_kms_public_key(
    *,
    services: Services,
    completed_request: Placed,
    record_store: RecordStore,
    api_client: ApiClient,
    evidence_key: str,
    verifier: PdfSignatureVerifier,
) -> None:
    # Given a completed One-Shot request whose files are in S3
    request_id = completed_request()
    # Then before the package is built, the API says to come back
    pending = evidence_get(api_client, request_id)
    assert pending.status == 202
    assert pending.headers["retry-after"] == str(evidence.RETRY_AFTER_SECONDS)

    # When the worker builds its package
    build(services, request_id)

    # Then the request records it, with a timeline entry
    request = record_store.get_request(request_id)
    assert request.request.evidence_key == keys.package_key(request_id)
    assert request.request.evidence_version_id  # the bucket is versioned
    assert request.timeline[-1].detail is not None
    assert request.timeline[-1].detail.startswith("evidence package built")
    # And the API hands out a short-lived link to exactly that ZIP
    answer = evidence_get(api_client, request_id)
    assert answer.status == 200, answer.raw_body
    package = download(answer.body["url"])
    assert len(package) == answer.body["size"] == request.request.evidence_size
    assert hashlib.sha256(package).hexdigest() == answer.body["sha256"]
    # And each file's S3 version is in the manifest
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        manifest = read_manifest(archive.read(MANIFEST_PATH))
    assert all(item.s3_version_id for item in manifest.files if item.source_key is not None)
    # And it verifies with the key's public key read from KMS (pinned), the PDFs against their reports
    pinned = KmsSealer(evidence_key).public_key_pem().encode()
    result = check_package(io.BytesIO(package), public_key_pem=pinned, pdf_verifier=verifier)
    assert result.ok, result.as_dict()
    assert result.key_id == evidence_key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_the_seal_checks_with_openssl_alone(
    services: Services, completed_request: Placed, file_store: FileStore, evidence_key: str, tmp_path: Path
) -> None:
    # Given a built package, unpacked, and the key's public key as PEM
    request_id = completed_request()
    build(services, request_id)
    with file_store.open_stream(keys.package_key(request_id)) as stream:
        package = stream.read()
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        archive.extractall(tmp_path)
    (tmp_path / "pub.pem").write_text(KmsSealer(evidence_key).public_key_pem())
    # When the README's command runs
    command = ["openssl", "dgst", "-sha256", "-verify", "pub.pem", "-signature", SIGNATURE_PATH, MANIFEST_PATH]
    checked = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    # Then it says Verified OK
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == "Verified OK"
    # And one byte changed in the manifest fails it
    manifest = tmp_path / MANIFEST_PATH
    manifest.write_bytes(manifest.read_bytes().replace(b'"format"', b'"Format"', 1))
    refused = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert refused.returncode != 0
    assert "Verification failure" in refused.stdout + refused.stderr
    # And seal.json carries the same public key and says how to check
    seal = (tmp_path / SEAL_PATH).read_text()
    assert KmsSealer(evidence_key).public_key_pem().strip().splitlines()[1] in seal
    assert "openssl dgst -sha256 -verify pub.pem -signature manifest.sig manifest.json" in seal


def test_a_rebuild_makes_a_new_version_and_the_api_answers_202_until_it_is_built(
    services: Services, completed_request: Placed, record_store: RecordStore, api_client: ApiClient, queues: Any
) -> None:
    request_id = completed_request(include_id_images=True)
    build(services, request_id)
    first = record_store.get_request_item(request_id)
    # When a rebuild is asked through the API
    asked = api_client.request("POST", "/v1/requests/{request_id}/evidence", path_parameters={"request_id": request_id})
    assert asked.status == 202
    # Then the build is queued and the API answers 202 until it has run
    assert evidence_get(api_client, request_id).status == 202
    queued = drain(clients.sqs_client(), queues.oneshot.url)
    assert [item.op for item in queued] == [Op.BUILD_EVIDENCE_PACKAGE.value]
    build_evidence_package(services, queued[0].message)
    second = record_store.get_request_item(request_id)
    assert second.evidence_version_id != first.evidence_version_id
    assert evidence_get(api_client, request_id).status == 200


def test_a_request_that_is_not_completed_has_no_package_and_an_unknown_one_is_404(
    api_client: ApiClient, record_store: RecordStore
) -> None:
    request = place(record_store, Workflow.ZAPSIGN, R.ZAPSIGN_PENDING, since=utc_now())
    conflict = evidence_get(api_client, request.id)
    assert conflict.status == 409
    assert conflict.headers["content-type"] == "application/problem+json"
    assert (
        api_client.request(
            "POST", "/v1/requests/{request_id}/evidence", path_parameters={"request_id": request.id}
        ).status
        == 409
    )
    assert evidence_get(api_client, "0" * 32).status == 404
