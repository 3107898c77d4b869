"""Every signed PDF is verified before a step records it (docs/evidence.md).

`store_and_verify` streams a provider's signed file to its S3 key and, in the same pass, to a temporary file (no
second copy in memory, no second read of S3), verifies the temporary file (`Services.verifier`, pyHanko), stores the
report (JSON) beside the file at `keys.report_key` and judges it with the provider's policy (`PROVIDER_POLICIES`,
plus the INDETERMINATE sub-indications the stage accepts). A file that passes gets a long-term copy beside it
(`keys.long_term_key`: its validation material embedded, PAdES B-LT or B-LTA). The step then records the file (it
passed, or an operator accepted that very file by its sha256) or `hold`s the request in `verification_failed`:
nothing of the file is recorded as signed, an operator is alerted (metric `VerificationFailures`, alarm), and
nothing fetches it again by itself. `retry_verification` and `accept_verification` are the operator's ways on
(`signbridge requests …`)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO

from aws_lambda_powertools import Logger

from signbridge import observability, telemetry
from signbridge.domain import keys
from signbridge.domain.changes import DocumentChange
from signbridge.domain.errors import ConcurrentUpdateError, TransitionNotAllowedError
from signbridge.domain.files import StoredFile
from signbridge.domain.models import Cause, RequestAggregate, RequestStatus, Signer
from signbridge.domain.verification import (
    PROVIDER_POLICIES,
    ExpectedSigner,
    LongTermCopy,
    SubIndication,
    VerificationPolicy,
    VerificationSummary,
    decide,
    summarise,
)
from signbridge.workflow.services import Services
from signbridge.workflow.step import Step
from signbridge.workflow.stored_earlier import stored_earlier

logger = Logger(child=True)
R = RequestStatus

REPORT_CONTENT_TYPE = "application/json"
MAX_REPORT_BYTES = 1024 * 1024  # a few KiB per signature; one PutObject (below the multipart part size)
MAX_VALIDATION_MATERIAL = 8 * 1024 * 1024  # what the long-term copy may add: certificates, CRLs, OCSP, a timestamp
HOLD_ATTEMPTS = 3  # lost races while moving to verification_failed before the message is retried


class VerificationNotHeldError(ValueError):
    """The request is not in `verification_failed` (or moved meanwhile): the operator's command changes nothing."""


@dataclass(frozen=True)
class Verified:
    """A stored signed file and its verification."""

    stored: StoredFile
    summary: VerificationSummary

    @property
    def passed(self) -> bool:
        return self.summary.passed or self.summary.accepted_by_operator

    def record(self) -> dict[str, object]:
        """The summary as the document stores it (`Document.verifications[stage]`)."""
        return self.summary.model_dump(mode="json")


def expected_signer(signer: Signer) -> ExpectedSigner:
    """The request's signer as the certificate should name them: the given name and surnames One-Shot was sent (else
    the name), and the ID number."""
    parts = (signer.given_name, signer.first_surname, signer.second_surname)
    name = " ".join(part for part in parts if part) if signer.given_name else signer.name
    return ExpectedSigner(name=name, id_number=signer.id_number)


def policy_for(services: Services, provider: str, *, prior_signatures: int = 0) -> VerificationPolicy:
    """The provider's policy with the stage's accepted INDETERMINATE sub-indications."""
    return PROVIDER_POLICIES[provider].model_copy(
        update={
            "accept_indeterminate": frozenset(SubIndication(name) for name in services.settings.accept_indeterminate),
            "prior_signatures": prior_signatures,
        }
    )


def store_and_verify(
    services: Services,
    aggregate: RequestAggregate,
    *,
    key: str,
    chunks: Iterable[bytes],
    document_index: int,
    stage: str,
    provider: str,
    signers: Sequence[Signer] = (),
    prior_signatures: int = 0,
) -> Verified:
    """Stream `chunks` to `key` and a temporary file, verify it with `signers` expected, store the report. Raises as
    `FileStore.store_stream` does (not a PDF, too large): then nothing is verified or stored. A file that passes
    also gets its long-term copy (`store_long_term`), recorded in the summary's `long_term`."""
    with tempfile.TemporaryFile() as copy:
        stored = services.files.store_stream(
            key, _tee(chunks, copy), expect_pdf=True, max_bytes=services.settings.max_file_bytes
        )
        return _verify_copy(
            services,
            aggregate,
            copy,
            stored,
            document_index=document_index,
            stage=stage,
            provider=provider,
            signers=signers,
            prior_signatures=prior_signatures,
        )


def verify_earlier(
    services: Services,
    aggregate: RequestAggregate,
    *,
    key: str,
    document_index: int,
    stage: str,
    provider: str,
    signers: Sequence[Signer] = (),
    prior_signatures: int = 0,
) -> Verified | None:
    """The file an attempt killed before its record stored at `key` (`stored_earlier`), read back from S3 into a
    temporary file and verified as `store_and_verify` verifies a fresh download: a file found again is never
    recorded unverified. None when there is no such file, or when it is the very file a recorded verification of
    this stage already judged (held, then retried by an operator): that one is fetched from the provider again."""
    earlier = stored_earlier(services, key)
    if earlier is None:
        return None
    judged = aggregate.document(document_index).verifications.get(stage) or {}
    if judged.get("sha256") == earlier.sha256:
        return None
    with tempfile.TemporaryFile() as copy:
        with services.files.open_stream(key) as stream:
            for chunk in stream.iter_chunks():
                copy.write(chunk)
        return _verify_copy(
            services,
            aggregate,
            copy,
            earlier,
            document_index=document_index,
            stage=stage,
            provider=provider,
            signers=signers,
            prior_signatures=prior_signatures,
        )


def _verify_copy(
    services: Services,
    aggregate: RequestAggregate,
    copy: IO[bytes],
    stored: StoredFile,
    *,
    document_index: int,
    stage: str,
    provider: str,
    signers: Sequence[Signer],
    prior_signatures: int,
) -> Verified:
    """Verify the temporary file `copy` of the stored file `stored`, store the report, judge it, and make the
    long-term copy of a file that passes."""
    request = aggregate.request
    expected = [expected_signer(signer) for signer in signers]
    copy.seek(0)
    started = time.perf_counter()
    report = services.verifier().verify(copy, expected_signers=expected)
    seconds = time.perf_counter() - started
    decision = decide(report, policy_for(services, provider, prior_signatures=prior_signatures))
    long_term = (
        store_long_term(services, copy, key=keys.long_term_key(request.id, document_index, stage), size=stored.size)
        if decision.passed
        else None
    )
    report_key = keys.report_key(request.id, document_index, stage)
    services.files.store_bytes(
        report_key,
        report.model_dump_json().encode(),
        expect_pdf=False,
        max_bytes=MAX_REPORT_BYTES,
        content_type=REPORT_CONTENT_TYPE,
    )
    summary = summarise(
        report,
        decision,
        stage=stage,
        report_key=report_key,
        sha256=stored.sha256,
        signer_indexes=[signer.index for signer in signers],
        accepted_by_operator=not decision.passed and stored.sha256 in request.verification_accepted,
    ).model_copy(update={"long_term": long_term})
    indication = str(report.indication) if report.indication is not None else "none"
    telemetry.count(observability.SIGNATURE_VERIFICATIONS, indication=indication)
    logger.info(
        "signed file verified",
        extra={
            "request_id": request.id,
            "document": document_index,
            "stage": stage,
            "indication": indication,
            "passed": decision.passed,
            "accepted_by_operator": summary.accepted_by_operator,
            "signatures": len(report.signatures),
            "seconds": round(seconds, 3),
        },
    )
    return Verified(stored=stored, summary=summary)


def store_long_term(services: Services, verified: IO[bytes], *, key: str, size: int) -> LongTermCopy:
    """Embed the validation material of the verified file `verified` (`SignatureVerifier.embed_validation_material`)
    into a temporary file and stream that to `key`. The provider's file stays as served at its own key: this copy is
    its bytes followed by incremental updates (a DSS, and an archive timestamp with a TSA)."""
    with tempfile.TemporaryFile() as extended:
        verified.seek(0)
        level = services.verifier().embed_validation_material(verified, extended)
        extended.seek(0)
        stored = services.files.store_stream(key, extended, expect_pdf=True, max_bytes=size + MAX_VALIDATION_MATERIAL)
    return LongTermCopy(key=key, sha256=stored.sha256, size=stored.size, level=level)


def _tee(chunks: Iterable[bytes], copy: IO[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        copy.write(chunk)
        yield chunk


def problem_of(document_index: int, verified: Verified) -> str:
    """The operator's reason: the file and the policy's reasons (field names and indications, no personal data)."""
    summary = verified.summary
    reasons = "; ".join(summary.reasons) or "no reason given"
    return f"document {document_index} ({summary.stage}) did not pass verification: {reasons}"


def hold(step: Step, document_index: int, verified: Verified) -> None:
    """Move the request to `verification_failed` (from the stage that fetched the file), with the document's
    verification recorded and the reason; when it is there already (another document failed first), record the
    document's verification only. Counts `VerificationFailures` once per file."""
    problem = problem_of(document_index, verified)
    telemetry.count(observability.VERIFICATION_FAILURES)
    logger.warning("signed file did not pass verification", extra={"request_id": step.request.id, "problem": problem})
    for attempt in range(HOLD_ATTEMPTS):
        aggregate = step.aggregate
        request = aggregate.request
        document = aggregate.document(document_index)
        verifications = {**document.verifications, verified.summary.stage: verified.record()}
        try:
            if request.status is R.VERIFICATION_FAILED:
                step.update_document(
                    document_index, {"verifications": verifications}, while_request=R.VERIFICATION_FAILED
                )
                return
            step.move_request(
                R.VERIFICATION_FAILED,
                detail=problem,
                updates={"verification_problem": problem, "verification_held_from": request.status},
                documents=(DocumentChange(document_index, document.status, None, {"verifications": verifications}),),
            )
            return
        except ConcurrentUpdateError:
            if attempt == HOLD_ATTEMPTS - 1:
                raise  # the message is retried: the file is fetched and verified again
            step.aggregate = step.services.records.get_request(request.id)
        except TransitionNotAllowedError:
            logger.info("the request moved on; nothing to hold", extra={"request_id": request.id})
            return


# ------------------------------------------------------------------------------------------------ operator


def retry_verification(services: Services, request_id: str, *, correlation_id: str) -> RequestAggregate:
    """Back to the stage that fetched the file: the planner fetches and verifies every file not yet recorded again."""
    step = Step.read(services, request_id, cause=Cause.OPERATOR, correlation_id=correlation_id)
    held_from = _held_from(step)
    step.move_request(
        held_from,
        detail="an operator asked to fetch and verify the signed files again",
        updates={"verification_problem": None, "verification_held_from": None},
    )
    return step.advance()


def accept_verification(services: Services, request_id: str, sha256: str, *, correlation_id: str) -> RequestAggregate:
    """Accept the signed file with this sha256 (one the request holds a failed verification of) and go on: it is
    fetched again and recorded if it is still that very file, with `accepted_by_operator` in its verification."""
    step = Step.read(services, request_id, cause=Cause.OPERATOR, correlation_id=correlation_id)
    held_from = _held_from(step)
    failed = {
        stored_sha
        for document in step.aggregate.documents
        for _, stored_sha in _failed_files(document.verifications, document.signed_keys)
    }
    if sha256 not in failed:
        raise VerificationNotHeldError(f"no signed file of request {request_id} failed verification with that sha256")
    step.move_request(
        held_from,
        detail=f"an operator accepted the signed file {sha256[:12]}… that did not pass verification",
        updates={
            "verification_problem": None,
            "verification_held_from": None,
            "verification_accepted": sorted({*step.request.verification_accepted, sha256}),
        },
    )
    return step.advance()


def _held_from(step: Step) -> RequestStatus:
    request = step.request
    if request.status is not R.VERIFICATION_FAILED or request.verification_held_from is None:
        raise VerificationNotHeldError(f"request {request.id} is {request.status}, not waiting after a verification")
    return request.verification_held_from


def _failed_files(
    verifications: dict[str, dict[str, object]], signed_keys: dict[str, str]
) -> Iterator[tuple[str, str]]:
    for stage, record in verifications.items():
        summary = VerificationSummary.model_validate(record)
        if not summary.passed and stage not in signed_keys and summary.sha256:
            yield stage, summary.sha256
