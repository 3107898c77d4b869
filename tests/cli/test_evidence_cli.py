"""`signbridge evidence get` and `verify` against moto: a package built by the worker step (KMS key on moto) is
downloaded from the bucket with its recorded sha256 checked, and verified offline with the key's public key read from
KMS, given as a PEM file, or (saying it proves nothing) taken from the package itself."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

import signbridge_cli as cli
from signbridge import env_names
from signbridge.config import Settings
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import RequestStatus, Workflow, utc_now
from signbridge.domain.operations import Op
from signbridge.storage.files import FileStore
from signbridge.storage.records import RecordStore
from signbridge.storage.seal import KmsSealer
from signbridge.verification.pdf import PdfSignatureVerifier
from signbridge.workflow.evidence_package import build_evidence_package
from tests.support.evidence import completed_oneshot_files
from tests.support.pki import TestPki
from tests.support.services import services_on_fixtures
from tests.support.stored import place

R = RequestStatus


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main(list(argv), out=out)
    return code, out.getvalue()


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki()


@pytest.fixture(scope="module")
def anchors(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Path:
    bundle = tmp_path_factory.mktemp("anchors") / "trust-anchors.pem"
    bundle.write_bytes(pki.trust_anchors_pem)
    return bundle


@pytest.fixture
def built(
    *,
    settings: Settings,
    table: str,
    dynamodb_client: Any,
    record_store: RecordStore,
    file_store: FileStore,
    queue_sender: Any,
    secret_store: Any,
    idempotency_store: Any,
    pki: TestPki,
    anchors: Path,
    evidence_key: str,
) -> tuple[str, str]:
    """(request id, evidence key ARN) of a completed request whose package the worker step built."""
    key_arn = evidence_key
    request_id = uuid.uuid4().hex
    verifier = PdfSignatureVerifier.from_pem_bundle(anchors)
    files = completed_oneshot_files(
        request_id, pki, pki.signer("Ana", "García López", "12345678Z"), verifier, include_id_images=False
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
    services = services_on_fixtures(
        settings=settings,
        table=table,
        dynamodb_client=dynamodb_client,
        file_store=file_store,
        queue_sender=queue_sender,
        secret_store=secret_store,
        idempotency_store=idempotency_store,
        clock=utc_now,
        sealer=KmsSealer(key_arn),
    )
    build_evidence_package(
        services, OperationMessage(op=Op.BUILD_EVIDENCE_PACKAGE.value, request_id=request_id, correlation_id="c")
    )
    return request_id, key_arn


def test_get_downloads_the_package_and_verify_checks_it_with_the_key_from_kms(
    built: tuple[str, str], anchors: Path, tmp_path: Path, record_store: RecordStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    request_id, key_arn = built
    target = tmp_path / "evidence.zip"
    code, out = run("evidence", "get", request_id, "-o", str(target), "--json")
    assert code == 0, out
    answer = json.loads(out)
    assert answer["sha256"] == record_store.get_request_item(request_id).evidence_sha256
    assert target.stat().st_size == answer["size"]

    code, out = run("evidence", "verify", str(target), "--key-id", key_arn, "--trust-anchors", str(anchors), "--json")
    result = json.loads(out)
    assert code == 0, out
    assert (result["ok"], result["public_key"], result["key_id"], result["pdfs_checked"]) == (True, "given", key_arn, 1)

    # With the public key as a PEM file, and as a table for people
    pem = tmp_path / "evidence-key.pem"
    pem.write_text(KmsSealer(key_arn).public_key_pem())
    code, out = run("evidence", "verify", str(target), "--public-key", str(pem), "--trust-anchors", str(anchors))
    assert code == 0, out
    assert "VALID" in out

    # Without a pinned key nor trust anchors (none in the environment either): it checks with the package's own
    # copy, and says that proves nothing of who sealed it
    monkeypatch.delenv(env_names.TRUST_ANCHORS_FILE, raising=False)
    code, out = run("evidence", "verify", str(target), "--json")
    result = json.loads(out)
    assert code == 0
    assert result["public_key"] == "package"
    assert any("not who sealed it" in warning for warning in result["warnings"])
    assert any("--trust-anchors" in warning for warning in result["warnings"])


def test_verify_refuses_a_modified_package_and_conflicting_options(
    built: tuple[str, str], anchors: Path, tmp_path: Path
) -> None:
    request_id, key_arn = built
    target = tmp_path / "evidence.zip"
    assert run("evidence", "get", request_id, "-o", str(target))[0] == 0
    data = bytearray(target.read_bytes())
    data[-200] ^= 0x01  # inside the ZIP's trailing records or the last member: the package no longer checks
    broken = tmp_path / "broken.zip"
    broken.write_bytes(bytes(data))
    code, out = run("evidence", "verify", str(broken), "--key-id", key_arn, "--json")
    assert code == 1
    assert json.loads(out)["ok"] is False
    assert run("evidence", "verify", str(target), "--key-id", key_arn, "--public-key", str(anchors))[0] == 2


def test_get_refuses_a_request_that_is_not_completed(record_store: RecordStore, settings: Settings) -> None:
    request = place(record_store, Workflow.ZAPSIGN, R.ZAPSIGN_PENDING, since=utc_now())
    code, _ = run("evidence", "get", request.id)
    assert code == 1
