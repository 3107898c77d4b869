"""Errors the workflow raises for a client's mistake, a request's state or a caller it does not recognise. They say
what went wrong in the domain's words and nothing of HTTP: the HTTP edge maps each to a status and a stable problem
`type` in one table (`signbridge.handlers.problems`). The messages are for people and carry no personal data."""

from __future__ import annotations

from signbridge.domain.lifecycle import is_terminal
from signbridge.domain.models import RequestStatus


class WorkflowError(Exception):
    """Base: `detail` says what went wrong, for people."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class PayloadTooLargeError(WorkflowError):
    """A body or a file is larger than the deployment accepts."""


class RequestStateError(WorkflowError):
    """The request is not in a state that allows this (cancel a completed request, submit a code nobody awaits)."""


class NotAwaitingOtpError(RequestStateError):
    """No SMS code is awaited from this signer."""


class OtpRejectedError(WorkflowError):
    """The Optimizer refused the code. The signer can try again."""


class SignerLockedError(RequestStateError):
    """Too many wrong SMS codes: the signer is locked until an operator unlocks them; the Optimizer is not called."""


class NotLockedError(RequestStateError):
    """An unlock for a signer who is not locked."""


# ------------------------------------------------------------------------------------------------ the API's use cases


class InvalidFieldError(WorkflowError):
    """A field that the input model cannot judge alone, because the limit is the deployment's (a file size)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class InvalidQueryError(WorkflowError):
    """A list query that does not name exactly one filter."""


class RequestNotCancellableError(RequestStateError):
    """The request has finished, or is being signed: there is nothing left to cancel."""

    def __init__(self, request_id: str, status: RequestStatus) -> None:
        reason = "it has ended" if is_terminal(status) else "its signature is under way"
        super().__init__(f"request {request_id} is {status.value}; it cannot be cancelled because {reason}")
        self.request_status = status


class UploadClosedError(RequestStateError):
    """The request has left `draft`, or the document's upload was already accepted: nothing can be uploaded."""


class OtpResendTooSoonError(WorkflowError):
    """The Optimizer sends at most one SMS a minute per request."""

    def __init__(self, detail: str, *, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class ProviderUnavailableError(WorkflowError):
    """A synchronous provider call (the OTP sign) could not be made now; the client may try again."""

    def __init__(self, detail: str, *, retry_after_seconds: int | None = None) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


# ------------------------------------------------------------------------------------------------ webhooks


class UnknownCallerError(WorkflowError):
    """A webhook call that does not prove it comes from the provider: nothing was stored or queued."""


class UnknownCallbackAddressError(UnknownCallerError):
    """One-Shot: the secret in the callback address is not one SignBridge gave the Optimizer."""


class WrongWebhookSecretError(UnknownCallerError):
    """ZapSign: the shared-secret header is missing or wrong."""


class MalformedEventError(WorkflowError):
    """A webhook body that cannot be read. It was stored first (`raw_key`), for whoever investigates."""

    def __init__(self, detail: str, *, raw_key: str) -> None:
        super().__init__(detail)
        self.raw_key = raw_key


class MalformedCallbackError(MalformedEventError):
    """One-Shot: the callback body is not JSON."""


class MalformedWebhookError(MalformedEventError):
    """ZapSign: the webhook body is not a JSON object."""


class SigningLinkInvalidError(WorkflowError):
    """A signing-page token that is not any signer's link (malformed, guessed, or of a request that does not exist).
    Says nothing about which part was wrong."""


class SigningLinkExpiredError(WorkflowError):
    """A signing-page link past its lifetime or the request's deadline."""


class SigningLinkUsedError(WorkflowError):
    """A signing-page link whose signer has signed or whose request has ended: it opens nothing any more."""


class ContractNotAcceptedError(RequestStateError):
    """The signing page asks for the SMS code only after the signer accepted the One-Shot service contract."""
