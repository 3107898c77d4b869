"""Lambda entry point `intake`: not implemented yet (see the workflows issue). Wired by infra so the stack is complete."""

from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise NotImplementedError("the intake handler arrives with the workflows issue")
