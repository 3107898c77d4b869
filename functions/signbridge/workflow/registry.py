"""The worker's operations by name: the one table the worker dispatches with."""

from __future__ import annotations

from dataclasses import dataclass

from signbridge.domain.operations import Op
from signbridge.workflow import oneshot_steps, zapsign_steps
from signbridge.workflow.services import Operation

OPERATIONS: dict[Op, Operation] = {**zapsign_steps.OPERATIONS, **oneshot_steps.OPERATIONS}


@dataclass(frozen=True)
class UnknownOperationError(Exception):
    op: str

    def __str__(self) -> str:
        return f"no operation is called {self.op!r}"


def lookup(op: str) -> Operation:
    try:
        return OPERATIONS[Op(op)]
    except (ValueError, KeyError):
        raise UnknownOperationError(op) from None
