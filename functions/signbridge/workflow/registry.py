"""The worker's operations by name: the one table the worker dispatches with, pointing at the operation families
(`workflow/zapsign/`, `workflow/oneshot/`: one module per family, each with its `OPERATIONS`) and at
`workflow/evidence_package.py` (the evidence package, run on the One-Shot queue).

A family is imported the first time one of its operations is looked up, not with the worker: an operation family
brings its provider's data models, and a worker's cold start needs only the families of the messages it runs. Each
queue's operations are one family (`Op.queue` says which).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from signbridge.domain.operations import Op, Queue
from signbridge.workflow.services import Operation


def _zapsign() -> dict[Op, Operation]:
    from signbridge.workflow import zapsign  # noqa: PLC0415 - on first use (see the module docstring)

    return zapsign.OPERATIONS


def _oneshot() -> dict[Op, Operation]:
    from signbridge.workflow import oneshot  # noqa: PLC0415 - on first use (see the module docstring)
    from signbridge.workflow.evidence_package import build_evidence_package  # noqa: PLC0415 - on first use

    return {**oneshot.OPERATIONS, Op.BUILD_EVIDENCE_PACKAGE: build_evidence_package}


FAMILIES: Final[dict[Queue, Callable[[], dict[Op, Operation]]]] = {Queue.ZAPSIGN: _zapsign, Queue.ONESHOT: _oneshot}
"""Each queue's operation family, imported on its first lookup."""


@dataclass(frozen=True)
class UnknownOperationError(Exception):
    op: str

    def __str__(self) -> str:
        return f"no operation is called {self.op!r}"


def lookup(op: str) -> Operation:
    try:
        name = Op(op)
        return FAMILIES[name.queue]()[name]
    except (ValueError, KeyError):
        raise UnknownOperationError(op) from None
