"""One way to call a provider: a pooled `requests.Session`, explicit timeouts, one retry policy, typed errors.

Retry policy (the only one in SignBridge):

- Exponential backoff with full jitter between attempts, bounded attempts, a `Retry-After` header honoured (capped).
- Idempotent calls (GET, DELETE, and POSTs the provider treats as repeatable) are retried on connection errors,
  timeouts, 429 and 5xx.
- Calls that are NOT idempotent upstream (ZapSign create, One-Shot create / otp / sign) are retried only when the
  request cannot have reached the provider (the connection was never established) or the provider refused it
  before doing anything (429). A read timeout, a dropped connection or a 5xx after the request was sent raise
  `UncertainOutcomeError`: the caller decides (usually: read the provider's state before trying again).

Errors carry the provider, the operation, the HTTP status, a short message parsed defensively from the body
(providers use `detail`, `details`, `message`, `messsage`, `error` or plain text) and the raw body, truncated.
They never carry request bodies, credentials or headers.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from signbridge.domain.provider_errors import (
    RAW_BODY_LIMIT,
    PermanentError,
    ProviderError,
    RateLimitedError,
    RetryableError,
    UncertainOutcomeError,
)

CONNECT_TIMEOUT_SECONDS = 3.05  # slightly above a TCP retransmission window, as requests' docs suggest
READ_TIMEOUT_SECONDS = 30.0
MAX_RETRY_AFTER_SECONDS = 60.0


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    backoff_base_seconds: float = 0.5
    backoff_cap_seconds: float = 8.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before attempt `attempt + 1` (attempt counts from 1)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), MAX_RETRY_AFTER_SECONDS)
        ceiling = min(self.backoff_cap_seconds, self.backoff_base_seconds * (2 ** (attempt - 1)))
        return rng.uniform(0, ceiling)  # full jitter


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` is either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def describe_error_body(response: requests.Response) -> str:
    """A short human message from a provider error body, whatever its shape."""
    text = response.text if response.content else ""
    try:
        body = response.json()
    except ValueError:
        return text.strip()[:300] or response.reason or "no body"
    return _message_from(body) or text.strip()[:300] or response.reason or "no body"


def _message_from(body: object) -> str:
    if isinstance(body, str):
        return body
    if isinstance(body, list):
        parts = [_message_from(item) for item in body]
        return "; ".join(part for part in parts if part)
    if isinstance(body, dict):
        # FastAPI validation errors: {"detail": [{"loc": [...], "msg": "..."}]}
        if "msg" in body:
            location = ".".join(str(part) for part in body.get("loc", []) if part != "body")
            return f"{location}: {body['msg']}" if location else str(body["msg"])
        for key in ("detail", "details", "message", "messsage", "error", "errors"):
            if key in body and body[key] not in (None, "", [], {}):
                return _message_from(body[key])
        # Per-field dicts such as {"email": ["This field is required"]}
        return "; ".join(f"{key}: {_message_from(value)}" for key, value in body.items() if key != "status")
    return "" if body is None else str(body)


Sleep = Callable[[float], None]
CallObserver = Callable[[str, str, "int | None", float, bool], None]
"""Told of every HTTP attempt: (provider, operation, status or None, seconds, failed). Metrics, never content."""


class ProviderHttp:
    """The HTTP side of a provider client. One per client instance (and so per warm Lambda)."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        *,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
        read_timeout: float = READ_TIMEOUT_SECONDS,
        default_headers: Mapping[str, str] | None = None,
        sleep: Sleep = time.sleep,
        rng: random.Random | None = None,
        observer: CallObserver | None = None,
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/") + "/"
        self.session = session or new_session()
        self.retry = retry or RetryPolicy()
        self.timeout = (connect_timeout, read_timeout)
        self.default_headers = dict(default_headers or {})
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self.observer = observer

    def url(self, path: str) -> str:
        return self.base_url + path.lstrip("/")

    def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        idempotent: bool,
        expected: tuple[int, ...] = (200,),
        stream: bool = False,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send one logical call with the retry policy. Returns the response when its status is `expected`."""
        url = path if path.startswith(("http://", "https://")) else self.url(path)
        merged_headers = {**self.default_headers, **(headers or {})}
        attempt = 0
        while True:
            attempt += 1
            last_attempt = attempt >= self.retry.max_attempts
            try:
                response = self._send(method, url, operation, expected, headers=merged_headers, stream=stream, **kwargs)
            except requests.exceptions.ConnectTimeout as error:
                # Never connected: the request cannot have reached the provider, even a non-idempotent one.
                failure: ProviderError = RetryableError(self.provider, operation, f"connect timeout ({error})")
            except requests.exceptions.ConnectionError as error:
                if _never_sent(error) or idempotent:
                    failure = RetryableError(self.provider, operation, f"connection failed ({type(error).__name__})")
                else:
                    raise UncertainOutcomeError(
                        self.provider, operation, f"connection lost after sending ({type(error).__name__})"
                    ) from error
            except requests.exceptions.Timeout as error:
                if not idempotent:
                    raise UncertainOutcomeError(
                        self.provider, operation, "no answer within the read timeout"
                    ) from error
                failure = RetryableError(self.provider, operation, "no answer within the read timeout")
            else:
                if response.status_code in expected:
                    return response
                failure = self._failure(response, operation, idempotent)
                response.close()
                if isinstance(failure, PermanentError | UncertainOutcomeError):
                    raise failure
            if last_attempt:
                raise failure
            retry_after = failure.retry_after if isinstance(failure, RetryableError) else None
            self._sleep(self.retry.delay(attempt, retry_after, self._rng))

    def _send(
        self, method: str, url: str, operation: str, expected: tuple[int, ...], **kwargs: Any
    ) -> requests.Response:
        """One attempt, reported to the observer (status, duration, whether it failed)."""
        started = time.monotonic()
        status: int | None = None
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            status = response.status_code
            return response
        finally:
            if self.observer is not None:
                self.observer(self.provider, operation, status, time.monotonic() - started, status not in expected)

    def _failure(self, response: requests.Response, operation: str, idempotent: bool) -> ProviderError:
        status = response.status_code
        message = describe_error_body(response)
        raw = response.text[:RAW_BODY_LIMIT] if response.content else ""
        if status == 429:
            return RateLimitedError(
                self.provider,
                operation,
                message,
                status=status,
                raw_body=raw,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if status >= 500:
            if not idempotent:
                return UncertainOutcomeError(self.provider, operation, message, status=status, raw_body=raw)
            return RetryableError(
                self.provider,
                operation,
                message,
                status=status,
                raw_body=raw,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        return PermanentError(self.provider, operation, message, status=status, raw_body=raw)


def _never_sent(error: requests.exceptions.ConnectionError) -> bool:
    """True when the connection itself failed (refused, DNS), so no byte of the request left this process."""
    text = repr(error)
    return any(marker in text for marker in ("NewConnectionError", "NameResolutionError", "Connection refused"))


def new_session(pool_size: int = 10) -> requests.Session:
    """A pooled session; retries are ours (`ProviderHttp.request`), so urllib3's own are off."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = "SignBridge/0.1"  # ZapSign requires a User-Agent on refuse/
    return session
