"""The errors of a provider call, as the workflow branches on them: whether trying again can help.

Raised by the provider clients (`signbridge.providers`); they carry the provider, the operation, the HTTP status, a
short message and the raw error body, truncated. They never carry request bodies, credentials or headers.
"""

from __future__ import annotations

from typing import Any

RAW_BODY_LIMIT = 2000  # characters of an error body kept in the exception (enough to diagnose, never a file)


class ProviderError(Exception):
    """A provider call failed. Subclasses say whether trying again can help."""

    def __init__(
        self,
        provider: str,
        operation: str,
        message: str,
        *,
        status: int | None = None,
        raw_body: str = "",
    ) -> None:
        self.provider = provider
        self.operation = operation
        self.status = status
        self.message = message
        self.raw_body = raw_body[:RAW_BODY_LIMIT]
        status_text = f" HTTP {status}" if status is not None else ""
        super().__init__(f"{provider} {operation} failed{status_text}: {message}")


class RetryableError(ProviderError):
    """Temporary: the provider is unavailable or overloaded. Trying again later is safe."""

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class RateLimitedError(RetryableError):
    """The provider answered 429. `retry_after` is its `Retry-After`, when it sent one."""


class PermanentError(ProviderError):
    """The provider rejected the call (4xx other than 429). Trying the same call again will not help."""


class UncertainOutcomeError(ProviderError):
    """A non-idempotent call may or may not have taken effect. Read the provider's state before retrying."""
