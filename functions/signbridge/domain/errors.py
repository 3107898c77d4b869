"""The errors of the storage layer: what a caller can expect and branch on.

Messages name the request, the item and the statuses involved (identifiers, never personal data, secret values or
provider tokens), so they can go to a log line as they are.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base of every storage error."""


# ------------------------------------------------------------------------------------------------ state store


class RequestNotFoundError(StoreError):
    def __init__(self, request_id: str) -> None:
        super().__init__(f"request {request_id} does not exist")
        self.request_id = request_id


class RequestAlreadyExistsError(StoreError):
    def __init__(self, request_id: str) -> None:
        super().__init__(f"request {request_id} already exists")
        self.request_id = request_id


class DocumentNotFoundError(StoreError):
    def __init__(self, request_id: str, index: int) -> None:
        super().__init__(f"request {request_id} has no document {index}")
        self.request_id = request_id
        self.index = index


class SignerNotFoundError(StoreError):
    def __init__(self, request_id: str, index: int) -> None:
        super().__init__(f"request {request_id} has no signer {index}")
        self.request_id = request_id
        self.index = index


class ConcurrentUpdateError(StoreError):
    """A conditional write lost: the item is no longer in the status (or at the version) the caller read.

    The usual meaning is "someone else already did it": re-read, then decide; never overwrite.
    """

    def __init__(
        self,
        request_id: str,
        subject: str,
        *,
        expected: str,
        actual: str | None = None,
    ) -> None:
        found = f", found {actual}" if actual is not None else ""
        super().__init__(f"request {request_id}: {subject} changed concurrently (expected {expected}{found})")
        self.request_id = request_id
        self.subject = subject
        self.expected = expected
        self.actual = actual


class TransitionNotAllowedError(StoreError):
    """The lifecycle table has no such move for this workflow (a late or out-of-order event). Nothing was written."""

    def __init__(self, request_id: str, subject: str, workflow: str, from_status: str, to_status: str) -> None:
        super().__init__(
            f"request {request_id}: {subject} may not move {from_status} -> {to_status} in the {workflow} workflow"
        )
        self.request_id = request_id
        self.subject = subject
        self.workflow = workflow
        self.from_status = from_status
        self.to_status = to_status


class LookupConflictError(StoreError):
    """A provider identifier already points at another request; nothing was written."""

    def __init__(self, request_id: str, kind: str) -> None:
        super().__init__(f"request {request_id}: the {kind} lookup already points at another request")
        self.request_id = request_id
        self.kind = kind


class InvalidUpdateError(StoreError, ValueError):
    """An update names a field the item does not have, a field only transitions may set, or a value of the wrong
    type. A programming error: nothing was written."""


class InvalidCursorError(StoreError, ValueError):
    """A pagination cursor that this query did not produce (tampered with, truncated, or from another listing)."""


# ------------------------------------------------------------------------------------------------ idempotency


class IdempotencyConflictError(StoreError):
    """The idempotency key was already used with a different payload."""

    def __init__(self, scope: str) -> None:
        super().__init__(f"idempotency key reused with a different payload (scope {scope})")
        self.scope = scope


class IdempotencyInProgressError(StoreError):
    """Another attempt with the same key is running (its lease has not expired): retry later."""

    def __init__(self, scope: str, retry_after_seconds: int) -> None:
        super().__init__(f"an attempt with this idempotency key is in progress (scope {scope})")
        self.scope = scope
        self.retry_after_seconds = retry_after_seconds


class InvalidIdempotencyKeyError(StoreError, ValueError):
    """The key (e.g. an `Idempotency-Key` header) or scope is empty, too long or not visible ASCII."""


class IdempotencyClaimLostError(StoreError):
    """The lease of this attempt expired and another attempt took over; this attempt's result was not recorded."""

    def __init__(self, scope: str) -> None:
        super().__init__(f"idempotency claim lost to a newer attempt (scope {scope})")
        self.scope = scope


# ------------------------------------------------------------------------------------------------ files


class FileTooLargeError(StoreError):
    def __init__(self, key: str, max_bytes: int) -> None:
        super().__init__(f"{key}: more than {max_bytes} bytes; nothing was stored")
        self.key = key
        self.max_bytes = max_bytes


class NotAPdfError(StoreError):
    def __init__(self, key: str) -> None:
        super().__init__(f"{key}: content does not start with %PDF-; nothing was stored")
        self.key = key


class StoredFileNotFoundError(StoreError):
    def __init__(self, key: str) -> None:
        super().__init__(f"{key}: no such object")
        self.key = key


# ------------------------------------------------------------------------------------------------ secrets


class SecretUnavailableError(StoreError):
    def __init__(self, secret_name: str) -> None:
        super().__init__(f"secret {secret_name} could not be read")
        self.secret_name = secret_name


class SecretMalformedError(StoreError):
    """The secret's JSON does not have the expected shape. Names the fields, never the values."""

    def __init__(self, secret_name: str, problems: list[str]) -> None:
        super().__init__(f"secret {secret_name} is malformed: {'; '.join(problems)}")
        self.secret_name = secret_name
        self.problems = problems


# ------------------------------------------------------------------------------------------------ queues


class EnqueueError(StoreError):
    """Some messages were not accepted by SQS. `failed` holds their deduplication ids (with SQS's error codes);
    `unsent` the ones not attempted after the failure. Re-sending them all is safe: deduplication ids are stable."""

    def __init__(self, queue: str, failed: list[tuple[str, str]], unsent: list[str]) -> None:
        codes = ", ".join(sorted({code for _, code in failed}))
        super().__init__(f"{queue}: {len(failed)} message(s) refused ({codes}), {len(unsent)} not sent")
        self.queue = queue
        self.failed = failed
        self.unsent = unsent
