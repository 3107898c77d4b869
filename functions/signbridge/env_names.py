"""Names of the environment variables the Lambda functions read.

One list shared by the functions (`signbridge.config`), the CDK stack (`infra/`), the local stack (`local/`) and the
tests, so that a renamed variable breaks loudly instead of silently. This module imports nothing on purpose: the CDK
app imports it without pulling in the runtime dependencies.

Only names and non-secret settings travel in environment variables. Secret *values* live in Secrets Manager; the
variables below ending in `_SECRET_NAME` carry the secret's name (or ARN), never its content.
"""

STAGE = "SIGNBRIDGE_STAGE"
TABLE_NAME = "SIGNBRIDGE_TABLE_NAME"
BUCKET_NAME = "SIGNBRIDGE_BUCKET_NAME"
ZAPSIGN_QUEUE_URL = "SIGNBRIDGE_ZAPSIGN_QUEUE_URL"
ONESHOT_QUEUE_URL = "SIGNBRIDGE_ONESHOT_QUEUE_URL"

ZAPSIGN_BASE_URL = "SIGNBRIDGE_ZAPSIGN_BASE_URL"
ZAPSIGN_FILE_HOSTS = "SIGNBRIDGE_ZAPSIGN_FILE_HOSTS"  # comma-separated host allowlist for file downloads
ONESHOT_BASE_URL = "SIGNBRIDGE_ONESHOT_BASE_URL"
ONESHOT_ENV = "SIGNBRIDGE_ONESHOT_ENV"  # "sandbox" | "prod"
ALLOW_LOOPBACK_HTTP = "SIGNBRIDGE_ALLOW_LOOPBACK_HTTP"  # "true" only on the local stack (simulators on 127.0.0.1)
API_BASE_URL = "SIGNBRIDGE_API_BASE_URL"  # public base URL of the HTTP API (One-Shot async callback address)
API_AUTH = "SIGNBRIDGE_API_AUTH"  # "iam" | "jwt": how the API Gateway authorises `/v1` calls (the OpenAPI scheme)

ZAPSIGN_SECRET_NAME = "SIGNBRIDGE_ZAPSIGN_SECRET_NAME"
WEBHOOK_SECRET_NAME = "SIGNBRIDGE_WEBHOOK_SECRET_NAME"
ONESHOT_SECRET_NAME = "SIGNBRIDGE_ONESHOT_SECRET_NAME"
SIGNER_PAGE_SECRET_NAME = "SIGNBRIDGE_SIGNER_PAGE_SECRET_NAME"  # the key of the signing-page links

MAX_FILE_BYTES = "SIGNBRIDGE_MAX_FILE_BYTES"
MAX_INLINE_BYTES = "SIGNBRIDGE_MAX_INLINE_BYTES"
PRESIGN_TTL_SECONDS = "SIGNBRIDGE_PRESIGN_TTL_SECONDS"
SECRETS_CACHE_SECONDS = "SIGNBRIDGE_SECRETS_CACHE_SECONDS"
TRUST_ANCHORS_FILE = "SIGNBRIDGE_TRUST_ANCHORS_FILE"  # PEM roots signatures must chain to (local: the simulators')
TRUST_ANCHORS_KEY = "SIGNBRIDGE_TRUST_ANCHORS_KEY"  # S3 key (under config/) of the PEM roots, on AWS
ACCEPT_INDETERMINATE = "SIGNBRIDGE_ACCEPT_INDETERMINATE"  # comma-separated INDETERMINATE sub-indications that pass
TSA_URL = "SIGNBRIDGE_TSA_URL"  # an RFC 3161 TSA: long-term copies get an archive timestamp (PAdES B-LTA)
OTP_MAX_FAILURES = "SIGNBRIDGE_OTP_MAX_FAILURES"  # wrong SMS codes before a signer is locked
EVIDENCE_KEY_ID = "SIGNBRIDGE_EVIDENCE_KEY_ID"  # the KMS key (ARN) that seals evidence packages; not a secret
# The One-Shot signing page (docs/signer-page.md): the links' lifetime and the company's branding.
PAGE_LINK_TTL_SECONDS = "SIGNBRIDGE_PAGE_LINK_TTL_SECONDS"
PAGE_BRAND_NAME = "SIGNBRIDGE_PAGE_BRAND_NAME"
PAGE_BRAND_COLOR = "SIGNBRIDGE_PAGE_BRAND_COLOR"  # #rrggbb
PAGE_BRAND_LOGO = "SIGNBRIDGE_PAGE_BRAND_LOGO"  # a data:image/png|svg+xml;base64 URI (no third-party asset)

ALL = (
    STAGE,
    TABLE_NAME,
    BUCKET_NAME,
    ZAPSIGN_QUEUE_URL,
    ONESHOT_QUEUE_URL,
    ZAPSIGN_BASE_URL,
    ZAPSIGN_FILE_HOSTS,
    ONESHOT_BASE_URL,
    ONESHOT_ENV,
    ALLOW_LOOPBACK_HTTP,
    API_BASE_URL,
    API_AUTH,
    ZAPSIGN_SECRET_NAME,
    WEBHOOK_SECRET_NAME,
    ONESHOT_SECRET_NAME,
    SIGNER_PAGE_SECRET_NAME,
    MAX_FILE_BYTES,
    MAX_INLINE_BYTES,
    PRESIGN_TTL_SECONDS,
    SECRETS_CACHE_SECONDS,
    EVIDENCE_KEY_ID,
    TRUST_ANCHORS_FILE,
    TRUST_ANCHORS_KEY,
    ACCEPT_INDETERMINATE,
    TSA_URL,
    PAGE_LINK_TTL_SECONDS,
    PAGE_BRAND_NAME,
    PAGE_BRAND_COLOR,
    PAGE_BRAND_LOGO,
)
