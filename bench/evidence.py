"""`python -m bench.evidence`: what building one request's sealed evidence package costs (docs/evidence.md,
"Cost of a package").

On a moto server in a process of its own (`local.aws`), with the KMS key SignBridge's stack creates (ECC_NIST_P256): a
completed `oneshot` request of `--documents` documents of `--size` bytes each, with their One-Shot-signed versions
(test PKI), validation reports, the service contract, the ID images and one raw callback in S3; the worker step
`build_evidence_package` builds, seals, stores and records its package. Printed: wall time (median of `--repeat`
builds), the peak of Python allocations during one build (`tracemalloc`, a separate run), the package's size, and
the AWS calls of one build by service and operation (counted on boto3's default session).
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
import tracemalloc
import uuid
from collections import Counter
from typing import Any, cast

import boto3

from bench.verification import padded_pdf
from local.aws import AwsEmulator, point_boto3_at
from signbridge.config import Settings
from signbridge.domain import keys
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import Cause, RequestStatus, Workflow, oneshot_stage, utc_now
from signbridge.domain.operations import Op
from signbridge.storage import clients
from signbridge.storage.files import FileStore
from signbridge.storage.records import RecordStore
from signbridge.storage.seal import KmsSealer
from signbridge.verification.pdf import PdfSignatureVerifier, load_trust_anchors
from signbridge.wiring import AwsServices
from signbridge.workflow.evidence_package import build_evidence_package
from tests.support.aws import create_bucket, create_table, unique_name
from tests.support.evidence import completed_oneshot_files
from tests.support.pki import TestPki
from tests.support.samples import new_request


def place(services: AwsServices, pki: TestPki, verifier: PdfSignatureVerifier, documents: int, size: int) -> str:
    """A completed request with every file stored; its id."""
    request_id = uuid.uuid4().hex
    files = completed_oneshot_files(
        request_id, pki, pki.signer("Ana", "García López", "12345678Z"), verifier, include_id_images=True
    )
    objects = dict(files.objects)
    stage = oneshot_stage(0)
    original = padded_pdf(size)
    signed = pki.sign(original, pki.signer("Ana", "García López", "12345678Z"))
    report = verifier.verify(io.BytesIO(signed)).model_dump_json().encode()
    for index in range(documents):
        objects[keys.original_key(request_id, index)] = original
        objects[keys.signed_key(request_id, index, stage)] = signed
        objects[keys.report_key(request_id, index, stage)] = report
    for key, data in objects.items():
        services.files.store_bytes(key, data, expect_pdf=False, max_bytes=1 << 30)
    request, document_items, signer_items = new_request(Workflow.ONESHOT, documents=documents, now=utc_now())
    stored = request.model_copy(update={"id": request_id, "status": RequestStatus.COMPLETED, **files.request})
    document_items = [
        item.model_copy(
            update={
                "original_key": keys.original_key(request_id, item.index),
                "signed_keys": {stage: keys.signed_key(request_id, item.index, stage)},
            }
        )
        for item in document_items
    ]
    signer_items = [item.model_copy(update=files.signer(item)) for item in signer_items]
    services.records.create_request(stored, document_items, signer_items, cause=Cause.API, correlation_id="bench")
    return request_id


def measure(documents: int, size: int, repeat: int) -> dict[str, Any]:
    """Build `repeat` packages of a completed request of `documents` documents of `size` payload bytes, then one more
    under `tracemalloc`: the median wall time, the peak of Python allocations, the package's size, the AWS calls of
    one build."""
    emulator = AwsEmulator(separate_process=True).start()  # moto's own allocations stay out of the figures
    undo = point_boto3_at(emulator)
    calls: Counter[str] = Counter()
    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register(
        "before-call", lambda model, **_: calls.update([f"{model.service_model.service_name} {model.name}"])
    )
    try:
        table = create_table(clients.dynamodb_client(), unique_name("bench"))
        bucket = create_bucket(clients.s3_client(), unique_name("bench"))
        key_arn = clients.kms_client().create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
        settings = Settings(
            table_name=table,
            bucket_name=bucket,
            zapsign_queue_url="unused",
            oneshot_queue_url="unused",
            zapsign_secret_name="unused",  # noqa: S106 - a name, and the build reads no secret
            webhook_secret_name="unused",  # noqa: S106 - a name, and the build reads no secret
            oneshot_secret_name="unused",  # noqa: S106 - a name, and the build reads no secret
        )
        services = AwsServices(
            settings=settings,
            records=RecordStore.from_settings(settings),
            files=FileStore.from_settings(settings),
            # The build step enqueues nothing, reads no secret and claims no idempotency key.
            queues=cast("Any", None),
            secrets=cast("Any", None),
            idempotency=cast("Any", None),
            sealer=KmsSealer(str(key_arn)),
        )
        pki = TestPki()
        verifier = PdfSignatureVerifier(load_trust_anchors(pki.trust_anchors_pem))
        times = []
        one_build: Counter[str] = Counter()
        for _ in range(repeat):
            request_id = place(services, pki, verifier, documents, size)
            message = OperationMessage(op=Op.BUILD_EVIDENCE_PACKAGE.value, request_id=request_id, correlation_id="b")
            calls.clear()
            started = time.perf_counter()
            build_evidence_package(services, message)
            times.append(time.perf_counter() - started)
            one_build = Counter(calls)
        request_id = place(services, pki, verifier, documents, size)
        tracemalloc.start()
        build_evidence_package(
            services, OperationMessage(op=Op.BUILD_EVIDENCE_PACKAGE.value, request_id=request_id, correlation_id="b")
        )
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        recorded = services.records.get_request_item(request_id)
    finally:
        undo()
        emulator.stop()
        boto3.DEFAULT_SESSION = None  # the next user of boto3's default session gets one without the counter
    return {
        "documents": documents,
        "payload_mib": round(size / 2**20, 2),
        "repeat": repeat,
        "package_mib": round((recorded.evidence_size or 0) / 2**20, 2),
        "median_ms": round(statistics.median(times) * 1000, 1),
        "peak_mib": round(peak / 2**20, 2),
        "aws_calls": sum(one_build.values()),
        "aws_calls_by_operation": dict(sorted(one_build.items())),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=3)
    parser.add_argument("--size", type=int, default=1 << 20, help="payload bytes per document")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    figures = measure(args.documents, args.size, args.repeat)
    print(f"documents: {args.documents} of {figures['payload_mib']} MiB payload, each original and One-Shot-signed")
    print(f"package: {figures['package_mib']:.2f} MiB")
    print(f"median time: {figures['median_ms']:.0f} ms (of {args.repeat} builds)")
    print(f"peak traced memory: {figures['peak_mib']:.2f} MiB")
    print(f"AWS calls of one build: {figures['aws_calls']}")
    for call, count in figures["aws_calls_by_operation"].items():
        print(f"  {call}: {count}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
