"""Lambda entry point `zapsign_webhook`: arrives with the workflows issue; wired by infra so the stack is complete."""

from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise NotImplementedError("the zapsign_webhook handler arrives with the workflows issue")
