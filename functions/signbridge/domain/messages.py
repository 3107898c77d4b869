"""The operation message: what travels on the FIFO queues from the handlers to the worker.

A versioned envelope (`version`) so a message written by an older deployment can still be read, or refused loudly,
after an upgrade. `op` names one worker operation (the worker's registry owns the list); `signer` and `document` say
which part of the request it concerns; `generation` distinguishes deliberate repeats of the same operation (an OTP
resend, a redrive by an operator) from accidental duplicates, which share every field and so share their
deduplication id (`{request}:{op}:{signer}:{document}:{generation}`, docs/design.md "Shape").
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

ENVELOPE_VERSION: Final = 1
_NONE_PART: Final = "-"


class OperationMessage(BaseModel):
    # Forbid unknown fields: producer and consumer ship together; a field nobody reads is a bug.
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = ENVELOPE_VERSION
    op: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="The worker operation, e.g. create_zapsign_doc.")
    request_id: str | None = Field(
        default=None,
        min_length=1,
        description="None only for a hint that names no request yet (a ZapSign webhook: the worker looks it up).",
    )
    signer: int | None = Field(default=None, ge=0)
    document: int | None = Field(default=None, ge=0)
    generation: int = Field(default=0, ge=0)
    correlation_id: str = Field(min_length=1, max_length=128)
    payload: dict[str, Any] = Field(default_factory=dict)

    def deduplication_key(self) -> str:
        """`{request}:{op}:{signer}:{document}:{generation}`, with `-` for an absent part; not yet SQS-safe."""
        parts = (self.request_id, self.op, self.signer, self.document, self.generation)
        return ":".join(_NONE_PART if part is None else str(part) for part in parts)

    def to_body(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_body(cls, body: str) -> OperationMessage:
        return cls.model_validate_json(body)
