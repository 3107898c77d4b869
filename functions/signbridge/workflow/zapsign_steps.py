"""The zapsign operations of the worker (see docs/workflows.md). Filled in by the workflows issue."""

from __future__ import annotations

from signbridge.workflow.operations import Op, Operation

OPERATIONS: dict[Op, Operation] = {}
