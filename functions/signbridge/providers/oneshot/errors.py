"""How a failed One-Shot call becomes the One-Shot-specific error (`signbridge.domain.oneshot`).

Errors: every call raises the `http.py` types (`RetryableError`, `RateLimitedError`, `PermanentError`,
`UncertainOutcomeError`), refined here by HTTP status first and the provider's text second:

| HTTP status and text                                   | error                                   |
|--------------------------------------------------------|-----------------------------------------|
| 400 / 422 (validation, limits)                         | `InvalidInputError`                     |
| 403 `Confirmation Code invalid`                        | `InvalidOtpError`                       |
| 403 `Invalid RAO Credentials` (or any "credentials")   | `InvalidCredentialsError`               |
| 404                                                    | `NotFoundError` (delete: "already gone") |
| 412 `Otp generated less than a minute ago`             | `OtpTooSoonError` (retryable, 60 s)     |
| 412 `Request already in ISSUED status`                 | `AlreadySignedError`                    |
| 412 `Invalid request status`                           | `InvalidRequestStatusError`             |
| 415                                                    | `UnsupportedFileTypeError`              |
| 500 `Billing credentials not valid...`                 | `InvalidCredentialsError`               |
| 500 `{"<field>": ["This field is required"]}`          | `InvalidInputError`                     |
| other 5xx on a non-idempotent call                     | `UncertainOutcomeError` (from http.py)  |
"""

from __future__ import annotations

from signbridge.domain.oneshot import (
    OTP_INTERVAL_SECONDS,
    AlreadySignedError,
    InvalidCredentialsError,
    InvalidInputError,
    InvalidOtpError,
    InvalidRequestStatusError,
    NotFoundError,
    OtpTooSoonError,
    UnsupportedFileTypeError,
)
from signbridge.domain.provider_errors import PermanentError, ProviderError

# Status and a fragment of the provider's text (lower case) -> the error; the first match wins.
_TEXT_RULES: tuple[tuple[int, str, type[PermanentError]], ...] = (
    (403, "confirmation code", InvalidOtpError),
    (403, "credential", InvalidCredentialsError),
    (412, "issued status", AlreadySignedError),
    (412, "invalid request status", InvalidRequestStatusError),
    # LEGACY (docs/providers/oneshot.md §5.3): the old Optimizer answered configuration and field-validation problems
    # with 500. INFERENCE: these texts mean nothing was created, so the outcome is not "uncertain".
    (500, "billing credentials not valid", InvalidCredentialsError),
    (500, "this field is required", InvalidInputError),
)
_STATUS_RULES: dict[int, type[PermanentError]] = {
    400: InvalidInputError,
    422: InvalidInputError,
    404: NotFoundError,
    415: UnsupportedFileTypeError,
}


def classify_error(error: ProviderError) -> ProviderError:
    """The One-Shot-specific error for a failed call: HTTP status first, then the provider's text (module table)."""
    status, text = error.status, error.message.lower()
    args = (error.provider, error.operation, error.message)
    if status == 412 and "less than a minute" in text:
        return OtpTooSoonError(*args, status=status, raw_body=error.raw_body, retry_after=OTP_INTERVAL_SECONDS)
    for rule_status, fragment, refined in _TEXT_RULES:
        if status == rule_status and fragment in text:
            return refined(*args, status=status, raw_body=error.raw_body)
    if isinstance(error, PermanentError) and status in _STATUS_RULES:
        return _STATUS_RULES[status](*args, status=status, raw_body=error.raw_body)
    return error
