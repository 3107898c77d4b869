"""Errors the workflow raises for a client's mistake or a request's state. The API maps each to one HTTP status and a
stable problem `type` in one place (`signbridge.handlers.api`); the messages are for people and carry no personal
data."""

from __future__ import annotations


class WorkflowError(Exception):
    """Base: `problem_type` is the stable slug clients branch on; `status` the HTTP status the API answers with."""

    problem_type = "workflow-error"
    status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class PayloadTooLargeError(WorkflowError):
    problem_type = "payload-too-large"
    status = 413


class RequestStateError(WorkflowError):
    """The request is not in a state that allows this (cancel a completed request, submit a code nobody awaits)."""

    problem_type = "conflict"
    status = 409


class NotAwaitingOtpError(RequestStateError):
    problem_type = "not-awaiting-otp"


class OtpRejectedError(WorkflowError):
    """The Optimizer refused the code. The signer can try again."""

    problem_type = "otp-rejected"
    status = 422


class OtpResendTooSoonError(WorkflowError):
    """The Optimizer sends at most one SMS a minute per request."""

    problem_type = "otp-too-soon"
    status = 429

    def __init__(self, detail: str, *, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class ProviderUnavailableError(WorkflowError):
    """A synchronous provider call (the OTP sign) could not be made now; the client may try again."""

    problem_type = "provider-unavailable"
    status = 503

    def __init__(self, detail: str, *, retry_after_seconds: int | None = None) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds
