"""S3 object keys, as in the design's storage section. One place builds them all."""

INCOMING_PREFIX = "incoming/"
ORIGINALS_PREFIX = "originals/"
SIGNED_PREFIX = "signed/"
EVIDENCE_PREFIX = "evidence/"
CONTRACTS_PREFIX = "contracts/"
RAW_PREFIX = "raw/"
REPORTS_PREFIX = "reports/"
PACKAGES_PREFIX = "packages/"
LOGS_PREFIX = "logs/"
CONFIG_PREFIX = "config/"  # operator-provided settings files, e.g. the trust anchors (docs/evidence.md)


def incoming_key(request_id: str, document_index: int) -> str:
    return f"{INCOMING_PREFIX}{request_id}/{document_index:03d}.pdf"


def original_key(request_id: str, document_index: int) -> str:
    return f"{ORIGINALS_PREFIX}{request_id}/{document_index:03d}.pdf"


def signed_key(request_id: str, document_index: int, stage: str) -> str:
    """`stage` is `zapsign` or `oneshot-{signer index}`."""
    return f"{SIGNED_PREFIX}{request_id}/{document_index:03d}/{stage}.pdf"


def long_term_key(request_id: str, document_index: int, stage: str) -> str:
    """The copy of `signed_key(request_id, document_index, stage)` with its validation material embedded (PAdES
    B-LT / B-LTA): beside it, so the provider's file stays as served (docs/evidence.md, "Long-term validation")."""
    return f"{SIGNED_PREFIX}{request_id}/{document_index:03d}/{stage}.ltv.pdf"


def report_key(request_id: str, document_index: int, stage: str) -> str:
    """The validation report (JSON) of the signed file `signed_key(request_id, document_index, stage)`."""
    return f"{REPORTS_PREFIX}{request_id}/{document_index:03d}/{stage}.json"


def evidence_key(request_id: str, signer_index: int, kind: str, extension: str = "jpg") -> str:
    """`kind` is `document_front`, `document_rear` or `document_owner` (One-Shot's names for the three images)."""
    return f"{EVIDENCE_PREFIX}{request_id}/{signer_index:03d}/{kind}.{extension}"


def contract_key(request_id: str, signer_index: int) -> str:
    return f"{CONTRACTS_PREFIX}{request_id}/{signer_index:03d}.pdf"


def raw_event_key(provider: str, received_date: str, digest: str) -> str:
    """Content-addressed: a duplicate delivery of the same body lands on the same key."""
    return f"{RAW_PREFIX}{provider}/{received_date}/{digest}.json"


def reports_prefix(request_id: str) -> str:
    """Every validation report of one request."""
    return f"{REPORTS_PREFIX}{request_id}/"


def package_key(request_id: str) -> str:
    """The request's sealed evidence package (one ZIP, rebuilt in place: the bucket keeps the older versions)."""
    return f"{PACKAGES_PREFIX}{request_id}/evidence.zip"


def zapsign_log_key(request_id: str) -> str:
    """ZapSign's activity history of the request's document, when something stored it (nothing fetches it yet)."""
    return f"{LOGS_PREFIX}{request_id}/zapsign-log.json"
