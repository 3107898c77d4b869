"""Every HTTP route SignBridge serves, and which function answers it.

The CDK API construct creates exactly these routes, the handlers register exactly these paths, and a test checks
the two against each other and against the OpenAPI document. Path parameters use API Gateway's `{name}` syntax.
"""

from typing import NamedTuple


class Route(NamedTuple):
    method: str
    path: str
    function: str  # the handler module under `signbridge.handlers`
    authenticated: bool  # False only for provider webhooks and the signing page, which check their own secrets


# The header ZapSign sends with every webhook (registered with the webhook, docs/providers/zapsign.md §4.2): ZapSign
# signs nothing, so a shared secret in a custom header is how SignBridge knows the call is ZapSign's.
ZAPSIGN_WEBHOOK_SECRET_HEADER = "X-Webhook-Token"  # noqa: S105 - the header's name, not a secret

API = "api"
SIGNER_PAGE = "signer_page"
ZAPSIGN_WEBHOOK = "zapsign_webhook"
ONESHOT_WEBHOOK = "oneshot_webhook"

ROUTES: tuple[Route, ...] = (
    Route("POST", "/v1/requests", API, True),
    Route("GET", "/v1/requests", API, True),
    Route("GET", "/v1/requests/{request_id}", API, True),
    Route("POST", "/v1/requests/{request_id}/cancel", API, True),
    Route("POST", "/v1/requests/{request_id}/documents/{document}/upload", API, True),
    Route("POST", "/v1/requests/{request_id}/signers/{signer}/otp", API, True),
    Route("POST", "/v1/requests/{request_id}/signers/{signer}/otp/resend", API, True),
    Route("POST", "/v1/requests/{request_id}/signers/{signer}/otp/unlock", API, True),
    Route("GET", "/v1/requests/{request_id}/evidence", API, True),
    Route("POST", "/v1/requests/{request_id}/evidence", API, True),
    Route("GET", "/v1/openapi.json", API, True),
    # The One-Shot signing page (docs/signer-page.md): public, the link's token in the path is the credential.
    Route("GET", "/sign/{token}", SIGNER_PAGE, False),
    Route("GET", "/sign/{token}/state", SIGNER_PAGE, False),
    Route("POST", "/sign/{token}/accept", SIGNER_PAGE, False),
    Route("POST", "/sign/{token}/otp", SIGNER_PAGE, False),
    Route("POST", "/sign/{token}/otp/resend", SIGNER_PAGE, False),
    Route("GET", "/sign-assets/{asset}", SIGNER_PAGE, False),
    Route("POST", "/webhooks/zapsign", ZAPSIGN_WEBHOOK, False),
    Route("POST", "/webhooks/oneshot/{secret}", ONESHOT_WEBHOOK, False),
)

# The interactive docs page (Swagger UI over the OpenAPI document, its assets inlined): the `api` function answers it,
# but only the local stack routes it (the API construct creates `ROUTES` alone, so on AWS it is not reachable).
LOCAL_DOCS_ROUTE = Route("GET", "/v1/docs", API, True)

# Lambda functions and their handler entry points (module `signbridge.handlers.<name>`, function `handler`).
FUNCTIONS: tuple[str, ...] = (
    API,
    SIGNER_PAGE,
    ZAPSIGN_WEBHOOK,
    ONESHOT_WEBHOOK,
    "intake",
    "worker",
    "reconciler",
    "housekeeper",
)


def handler_path(function: str) -> str:
    return f"signbridge.handlers.{function}.handler"
