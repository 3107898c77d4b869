"""`sync_zapsign_document`: `GET docs/{token}/` is the truth (a webhook is only a hint) → signer sub-statuses, and
the request `zapsign_pending → zapsign_signed | refused | cancelled | expired`.

`doc_expired` is a hint like the others: ZapSign's Detail has no expired status (docs/providers/zapsign.md §4.4, the
document stays `pending`), so the request expires only when the Detail shows it neither signed, refused nor deleted
and the deadline SignBridge recorded (sent as `date_limit_to_sign`) has passed by SignBridge's clock. A forged or
early hint changes nothing; the housekeeper's daily expiry stays the safety net."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from aws_lambda_powertools import Logger

from signbridge import telemetry
from signbridge.domain.changes import SignerChange
from signbridge.domain.lifecycle import is_terminal, may_transition_signer
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import Cause, IdImageKind, RequestAggregate, RequestStatus, SignerStatus, Workflow
from signbridge.domain.operations import Op
from signbridge.domain.zapsign import ZapSignDocument, ZapSignSigner
from signbridge.workflow import progress
from signbridge.workflow.maintenance import unsigned_end_steps
from signbridge.workflow.services import Services
from signbridge.workflow.step import Step
from signbridge.workflow.zapsign.common import evidence_url, get_main

logger = Logger(child=True)
R = RequestStatus
S = SignerStatus


# Hints whose event can change what SignBridge records (signer opened/signed, document signed/refused/deleted). The
# others (read confirmation, notification sent, expiration alert, …) are acknowledged without a Detail call, which
# keeps ZapSign calls at one per relevant webhook (docs/design.md "What a request should cost").
RELEVANT_HINTS: Final = frozenset({"doc_signed", "doc_refused", "doc_deleted", "doc_viewed", "doc_expired"})


def sync_zapsign_document(services: Services, message: OperationMessage) -> None:
    hint = message.payload
    event_type = hint.get("event_type") if isinstance(hint.get("event_type"), str) else None
    cause = Cause.WEBHOOK if event_type is not None else Cause.WORKER
    request_id = message.request_id
    if request_id is None:
        doc_token = hint.get("doc_token")
        if not isinstance(doc_token, str) or not doc_token:
            logger.warning("hint without a document token: ignored", extra={"event_type": event_type})
            return
        target = services.records.find_by_zapsign_doc_token(doc_token)
        if target is None:
            # Not ours (another system on the same ZapSign account), or created a moment ago and not yet recorded:
            # the reconciler reads ZapSign for requests that wait too long.
            logger.info("hint for an unknown ZapSign document: ignored", extra={"event_type": event_type})
            return
        request_id = target.request_id
    if event_type is not None and event_type not in RELEVANT_HINTS:
        logger.info("hint needs no action", extra={"request_id": request_id, "event_type": event_type})
        return
    step = Step.read(services, request_id, cause=cause, correlation_id=message.correlation_id)
    aggregate = step.aggregate
    request = aggregate.request
    if request.status is not R.ZAPSIGN_PENDING:
        # A late or duplicate hint (an old doc_signed after completed): nothing changes, ZapSign is not called.
        logger.info("not waiting on ZapSign: nothing to sync", extra={"request_id": request_id})
        return
    main_token = request.zapsign_doc_token or aggregate.document(0).zapsign_doc_token
    if main_token is None:
        logger.warning("no ZapSign token recorded: nothing to sync", extra={"request_id": request_id})
        return
    detail = get_main(services.zapsign(), main_token)
    raw_key = hint.get("raw_key") if isinstance(hint.get("raw_key"), str) else None
    if event_type == "doc_expired" and _expires(services, aggregate, detail):
        _expire(step, message.correlation_id, raw_key)
        return
    _apply_detail(step, detail, raw_key)
    step.advance(payloads=_link_payloads(aggregate, detail) if detail.is_signed else None)


def _expires(services: Services, aggregate: RequestAggregate, detail: ZapSignDocument) -> bool:
    deadline = aggregate.request.deadline
    still_open = not (detail.deleted or detail.is_refused or detail.is_signed)
    return still_open and deadline is not None and deadline <= services.clock()


def _expire(step: Step, correlation_id: str, raw_key: str | None) -> None:
    """`zapsign_pending → expired`, then what tells the providers that it ended unsigned (as the housekeeper does)."""
    before = step.aggregate
    step.move_request(
        R.EXPIRED,
        detail="the signing deadline passed at ZapSign (doc_expired)",
        updates=_with_raw_event(before, raw_key),
    )
    logger.info("request expired at ZapSign", extra={"request_id": before.request.id})
    telemetry.request_finished(R.EXPIRED.value)
    steps = unsigned_end_steps(before, correlation_id)
    if steps:
        step.enqueue(steps)


def _link_payloads(aggregate: RequestAggregate, detail: ZapSignDocument) -> dict[progress.StepKey, dict[str, Any]]:
    """The file and photo links of the read that found the document signed, for the archive steps it causes: they
    last an hour (§3.2), so the archive steps need not read the document again (docs/design.md, "What a request should
    cost": one detail per doc_signed). A step whose link has expired reads a fresh one."""
    extra_links = {extra.token: extra.signed_file for extra in detail.extra_docs}
    payloads: dict[progress.StepKey, dict[str, Any]] = {}
    for document in aggregate.documents:
        token = document.zapsign_doc_token
        link = detail.signed_file if token == detail.token else extra_links.get(token or "")
        if link:
            payloads[(Op.ARCHIVE_ZAPSIGN_DOCUMENT, None, document.index)] = {"file_url": link}
    if aggregate.request.workflow is Workflow.ZAPSIGN_ONESHOT:
        for signer in aggregate.signers:
            remote = detail.signer(signer.zapsign_signer_token or "")
            urls = {kind.value: url for kind in IdImageKind if (url := evidence_url(remote, kind))}
            if urls:
                payloads[(Op.ARCHIVE_ZAPSIGN_EVIDENCE, signer.index, None)] = {"photo_urls": urls}
    return payloads


_SIGNER_RANK: Final = {
    S.PENDING: 0,
    S.LINK_OPENED: 1,
    S.SIGNED: 2,
    S.ZAPSIGN_SIGNED: 2,
    S.REFUSED: 2,
}


def _with_raw_event(aggregate: RequestAggregate, raw_key: str | None) -> dict[str, object]:
    """The request's raw webhook keys with the one whose hint moved it (the evidence package carries them)."""
    if raw_key is None or raw_key in aggregate.request.raw_event_keys:
        return {}
    return {"raw_event_keys": [*aggregate.request.raw_event_keys, raw_key]}


def _apply_detail(step: Step, detail: ZapSignDocument, raw_key: str | None) -> None:
    aggregate = step.aggregate
    request = aggregate.request
    signed_status = S.SIGNED if request.workflow is Workflow.ZAPSIGN else S.ZAPSIGN_SIGNED
    moves = _signer_moves(aggregate, detail, signed_status)

    def move_request(to: RequestStatus, detail_text: str, changes: Sequence[SignerChange], **updates: object) -> None:
        updates = {**updates, **_with_raw_event(aggregate, raw_key)}
        step.move_request(to, detail=detail_text, updates=updates, signers=changes)
        logger.info("request moved after reading ZapSign", extra={"request_id": request.id, "to_status": to.value})
        if is_terminal(to):
            telemetry.request_finished(to.value)

    if detail.deleted:
        # We did not cancel (the request would not be zapsign_pending): someone deleted it at ZapSign.
        move_request(R.CANCELLED, "the ZapSign document was deleted at ZapSign", ())
        return
    if detail.is_refused:
        refusers = _refusers(aggregate, detail, moves)
        who = ", ".join(str(change.index) for change in refusers)
        text = f"refused at ZapSign by signer {who}" if refusers else "refused at ZapSign"
        move_request(
            R.REFUSED,
            text,
            refusers,
            refusal_reason=detail.rejected_reason or None,
            refused_by=refusers[0].index if len(refusers) == 1 else None,
        )
        return
    if detail.is_signed:
        changes = [
            SignerChange(signer.index, signer.status, signed_status)
            for signer in aggregate.signers
            if _SIGNER_RANK.get(signer.status, 3) < 2
        ]
        move_request(R.ZAPSIGN_SIGNED, "every signer signed at ZapSign", changes)
        return
    for change in moves:
        if change.to is S.REFUSED:
            continue  # the document is not refused (yet): wait for ZapSign to say so
        assert change.to is not None
        step.move_signer(
            change.index,
            change.to,
            expected=change.expected_status,
            detail=f"ZapSign: signer {change.index} {change.to.value.replace('_', ' ')}",
            while_request=R.ZAPSIGN_PENDING,
        )


def _refusers(
    aggregate: RequestAggregate, detail: ZapSignDocument, moves: Sequence[SignerChange]
) -> list[SignerChange]:
    """Who refused a refused document: the signers ZapSign shows refused; else, since ZapSign's Detail documents no
    refused signer status (docs/providers/zapsign.md §3.2, §5 item 9), the one signer who had not signed, when only one
    had not (a signer refuses on the signing page, and one who signed cannot refuse). None when neither tells."""
    shown = [change for change in moves if change.to is S.REFUSED]
    if shown:
        return shown
    unsigned = [
        signer
        for signer in aggregate.signers
        if signer.zapsign_signer_token is not None
        and not ((remote := detail.signer(signer.zapsign_signer_token)) is not None and remote.has_signed)
    ]
    if len(unsigned) == 1 and may_transition_signer(aggregate.request.workflow, unsigned[0].status, S.REFUSED):
        return [SignerChange(unsigned[0].index, unsigned[0].status, S.REFUSED)]
    return []


def _signer_moves(
    aggregate: RequestAggregate, detail: ZapSignDocument, signed_status: SignerStatus
) -> list[SignerChange]:
    """Forward moves of our signers that ZapSign's signer statuses show (a status never moves back)."""
    moves = []
    workflow = aggregate.request.workflow
    for signer in aggregate.signers:
        if signer.zapsign_signer_token is None:
            continue
        remote = detail.signer(signer.zapsign_signer_token)
        if remote is None:
            continue
        target = _remote_status(remote, signed_status)
        if target is None or _SIGNER_RANK[target] <= _SIGNER_RANK.get(signer.status, 3):
            continue
        if may_transition_signer(workflow, signer.status, target):
            moves.append(SignerChange(signer.index, signer.status, target))
    return moves


def _remote_status(remote: ZapSignSigner, signed_status: SignerStatus) -> SignerStatus | None:
    if remote.has_signed:
        return signed_status
    if remote.has_refused:
        return S.REFUSED
    if remote.has_opened_link:
        return S.LINK_OPENED
    return None
