"""The worker's operations by name: the one table the worker dispatches with, pointing at the operation families
(`workflow/zapsign/`, `workflow/oneshot/`: one module per family) and at `workflow/evidence_package.py` (the evidence
package)."""

from __future__ import annotations

from dataclasses import dataclass

from signbridge.domain.operations import Op
from signbridge.workflow import oneshot, zapsign
from signbridge.workflow.evidence_package import build_evidence_package
from signbridge.workflow.services import Operation

OPERATIONS: dict[Op, Operation] = {
    **zapsign.OPERATIONS,
    **oneshot.OPERATIONS,
    Op.BUILD_EVIDENCE_PACKAGE: build_evidence_package,
}


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
