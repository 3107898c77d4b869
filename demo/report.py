"""What a demo run reports: `DemoResult` and its one-line summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from demo.files import FileCheck

INTERRUPTED = "interrupted"


@dataclass
class DemoResult:
    workflow: str
    ok: bool = False
    request_id: str | None = None
    status: str | None = None
    stage: str = "create"  # the stage reached (or where it got stuck)
    reason: str | None = None
    failure_reason: str | None = None
    elapsed_seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)  # when each status was first seen
    timeline: list[str] = field(default_factory=list)  # the last entries, readable
    files: list[FileCheck] = field(default_factory=list)
    response: dict[str, Any] | None = None  # the last GET /v1/requests/{id}

    def summary(self) -> str:
        if self.reason == INTERRUPTED:
            return f"demo {self.workflow}: interrupted at stage {self.stage!r} (status {self.status!r})"
        if self.ok:
            return (
                f"demo {self.workflow}: request {self.request_id} completed in {self.elapsed_seconds:.1f} s, "
                f"{len(self.files)} file(s) verified"
            )
        return f"demo {self.workflow}: FAILED at stage {self.stage!r} (status {self.status!r}): {self.reason}" + (
            f"; failure_reason: {self.failure_reason}" if self.failure_reason else ""
        )
