"""Lambda entry point `intake`: arrives with the workflows issue; wired by infra so the stack is complete."""

from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise NotImplementedError("the intake handler arrives with the workflows issue")
