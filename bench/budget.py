"""The design's "What a request should cost" table (docs/design.md), as the simulators count calls.

Per completed request with one signer and `d` documents, by the simulators' endpoint names (`GET /_sim/calls`):
ZapSign `create_document`, `add_extra_document`, `get_document` (Detail), `file` (a download through a file link);
One-Shot `create`, `document_upload`, `contract`, `otp`, `sign`, `document_retrieve`, `documents_delete`.
"""

from __future__ import annotations

ZAPSIGN = "zapsign"
ONESHOT = "oneshot"

# ZapSign's documented rate limit: 500 requests per minute per API token (or per IP), in fixed one-minute windows;
# over it, 429 (https://docs.zapsign.com.br/zapsign-api/english/rate-limit-policies).
ZAPSIGN_CALLS_PER_MINUTE_PER_TOKEN = 500


def budget(workflow: str, *, documents: int = 1, signers: int = 1, otp_resends: int = 0) -> dict[str, dict[str, int]]:
    """The most calls a completed request of `workflow` should make, per provider and endpoint."""
    zapsign: dict[str, int] = {}
    oneshot: dict[str, int] = {}
    if workflow in ("zapsign", "zapsign_oneshot"):
        zapsign = {
            "create_document": 1,
            "add_extra_document": documents - 1,
            "get_document": signers,  # one Detail per doc_signed webhook: one per signer
            "file": documents + (3 * signers if workflow == "zapsign_oneshot" else 0),  # + the evidence images
        }
    if workflow in ("oneshot", "zapsign_oneshot"):
        oneshot = {
            "create": signers,
            "document_upload": documents * signers,  # one message per document
            "contract": signers,
            "otp": signers + otp_resends,
            "sign": signers,
            "document_retrieve": documents * signers,
            "documents_delete": signers,
        }
    return {ZAPSIGN: zapsign, ONESHOT: oneshot}
