"""`signbridge requests show`: where a request stands, without personal data (signers and documents by index and
status)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from signbridge.domain.models import RequestAggregate


def request_summary(aggregate: RequestAggregate) -> dict[str, Any]:
    """What `show` prints, masked: no names, e-mails, phones, ID numbers, document names, links, tokens or metadata
    values (a client may put anything there)."""
    request = aggregate.request
    return {
        "id": request.id,
        "workflow": request.workflow.value,
        "status": request.status.value,
        "status_since": _iso(request.status_since),
        "version": request.version,
        "created_at": _iso(request.created_at),
        "deadline": _iso(request.deadline),
        "external_id": request.external_id,
        "metadata_keys": sorted(request.metadata),
        "failure_reason": request.failure_reason,
        "current_signer": request.current_signer,
        "zapsign_document": request.zapsign_doc_token is not None,
        "documents": [
            {
                "index": document.index,
                "status": document.status.value,
                "status_since": _iso(document.status_since),
                "size": document.size,
                "sha256": document.sha256,
                "original": document.original_key is not None,
                "signed_stages": sorted(document.signed_keys),
                "final": document.final_key is not None,
                "rejection_reason": document.rejection_reason,
            }
            for document in aggregate.documents
        ],
        "signers": [
            {
                "index": signer.index,
                "status": signer.status.value,
                "status_since": _iso(signer.status_since),
                "oneshot_request": signer.oneshot_request_pk is not None,
                "evidence": sorted(kind.value for kind in signer.evidence_keys),
                "contract": signer.contract_key is not None,
                "otp_sent_at": _iso(signer.otp_sent_at),
                "oneshot_deleted_at": _iso(signer.oneshot_deleted_at),
                "failure_reason": signer.failure_reason,
            }
            for signer in aggregate.signers
        ],
        "timeline": [
            {
                "at": _iso(entry.at),
                "subject": entry.subject.value
                if entry.subject_index is None
                else f"{entry.subject}:{entry.subject_index}",
                "from": entry.from_status,
                "to": entry.to_status,
                "cause": entry.cause.value,
                "correlation_id": entry.correlation_id,
                "detail": entry.detail,
            }
            for entry in aggregate.timeline
        ],
    }


def render_summary(summary: Mapping[str, Any]) -> str:
    lines = [
        f"request {summary['id']}  ({summary['workflow']})",
        f"  status      {summary['status']} since {summary['status_since']} (version {summary['version']})",
        f"  created     {summary['created_at']}    deadline {summary['deadline'] or '-'}",
    ]
    if summary["external_id"]:
        lines.append(f"  external id {summary['external_id']}")
    if summary["metadata_keys"]:
        lines.append(f"  metadata    {', '.join(summary['metadata_keys'])} (values not shown)")
    if summary["failure_reason"]:
        lines.append(f"  reason      {summary['failure_reason']}")
    if summary["current_signer"] is not None:
        lines.append(f"  One-Shot turn of signer {summary['current_signer']}")
    lines.append(f"  documents ({len(summary['documents'])}; names not shown)")
    for document in summary["documents"]:
        stored = ", ".join(
            part
            for part in (
                "original" if document["original"] else "",
                *(f"signed:{stage}" for stage in document["signed_stages"]),
                "final" if document["final"] else "",
            )
            if part
        )
        lines.append(
            f"    #{document['index']}  {document['status']:<17} since {document['status_since']}  "
            f"{document['size'] or '-'} B  sha256 {(document['sha256'] or '-')[:12]}  [{stored or 'nothing stored'}]"
        )
        if document["rejection_reason"]:
            lines.append(f"        rejected: {document['rejection_reason']}")
    lines.append(f"  signers ({len(summary['signers'])}; personal data not shown)")
    for signer in summary["signers"]:
        facts = [
            "one-shot request" if signer["oneshot_request"] else "",
            f"evidence {len(signer['evidence'])}/3" if signer["evidence"] else "",
            "contract" if signer["contract"] else "",
            f"SMS {signer['otp_sent_at']}" if signer["otp_sent_at"] else "",
            f"deleted at the Optimizer {signer['oneshot_deleted_at']}" if signer["oneshot_deleted_at"] else "",
        ]
        described = ", ".join(fact for fact in facts if fact)
        lines.append(
            f"    #{signer['index']}  {signer['status']:<17} since {signer['status_since']}"
            + (f"  [{described}]" if described else "")
        )
        if signer["failure_reason"]:
            lines.append(f"        failed: {signer['failure_reason']}")
    lines.append("  timeline")
    for entry in summary["timeline"]:
        moved = f"{entry['from'] or '(new)'} -> {entry['to']}"
        detail = f"  {entry['detail']}" if entry["detail"] else ""
        lines.append(
            f"    {entry['at']}  {entry['subject']:<10} {moved:<36} {entry['cause']:<8} "
            f"[{entry['correlation_id']}]{detail}"
        )
    return "\n".join(lines)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
