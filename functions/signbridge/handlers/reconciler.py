"""Lambda entry point `reconciler`: arrives with the workflows issue; wired by infra so the stack is complete."""

from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise NotImplementedError("the reconciler handler arrives with the workflows issue")
