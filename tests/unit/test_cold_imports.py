"""What a cold start imports: each Lambda handler module, imported in a fresh interpreter as Lambda does, loads none of
the modules it has no use for at import time (the libraries a step needs are imported by that step).

Behaviour, not timings: `bench/cold_start.py` measures the import times; this pins the module sets that the times
come from. Every function in `signbridge.api_routes.FUNCTIONS` is checked; a new handler is covered by the rules
below as soon as it is listed there (add it to an allowance only for what it uses at import).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from signbridge import api_routes
from signbridge.domain.operations import Op
from signbridge.workflow import oneshot, registry, zapsign
from signbridge.workflow.evidence_package import build_evidence_package

DENIED_EVERYWHERE: dict[str, str] = {
    "aws_xray_sdk": "the tracer makes Powertools' Tracer on the first traced invocation (signbridge.telemetry)",
    "requests": "a provider's HTTP client is made when a step first calls that provider (signbridge.wiring)",
    "signbridge.providers": "a provider's client is imported when a step first asks for it (signbridge.wiring)",
    "pyhanko": "PDF signature verification imports pyHanko inside the verifying call",
    "pyhanko_certvalidator": "PDF signature verification imports it inside the verifying call",
    "signbridge.verification": "the verification package is imported inside the verifying call",
}
"""module (or package) -> why no handler imports it at import time."""

DENIED_UNLESS_ALLOWED: dict[str, tuple[str, frozenset[str]]] = {
    "aws_lambda_powertools.event_handler": (
        "Powertools' resolver and its OpenAPI machinery serve the API alone (the webhooks answer problem+json with "
        "signbridge.handlers.problems, which names Powertools' validation errors without importing them)",
        frozenset({api_routes.API}),
    ),
    "aws_lambda_powertools.utilities.data_classes": (
        "the event classes of every AWS source: the webhooks read the few fields they use (handlers.http.WebhookCall)",
        frozenset({api_routes.API, "worker"}),  # Powertools' resolver; the SQS batch processor
    ),
    "signbridge.workflow.signature_requests": ("the API's use cases", frozenset({api_routes.API})),
    "signbridge.handlers.api": (
        "the API's bodies and views, the OpenAPI document's models (Problem among them)",
        frozenset({api_routes.API}),
    ),
    "signbridge.domain.verification": (
        "the verification reports are loaded with the verification; the API's request view summarises them",
        frozenset({api_routes.API}),
    ),
    "signbridge.domain.zapsign": ("ZapSign's data models: the ZapSign operations load them", frozenset()),
    "signbridge.domain.oneshot": (
        "One-Shot's data models: the One-Shot operations load them; the API validates its `oneshot` inputs with them, "
        "and the signing page submits a signer's code through the same use case (workflow/signing.py)",
        frozenset({api_routes.API, api_routes.SIGNER_PAGE}),
    ),
}
"""module (or package) -> (why, the handlers that use it at import time)."""


def _imported_by(function: str) -> set[str]:
    """`sys.modules` after importing the function's handler module in a fresh interpreter, with Lambda's variables."""
    module = api_routes.handler_path(function).rpartition(".")[0]
    probe = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    environment = {**os.environ, "LAMBDA_TASK_ROOT": "/var/task", "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=environment, timeout=120
    )
    return set(json.loads(result.stdout))


def _loaded(modules: set[str], package: str) -> list[str]:
    return sorted(name for name in modules if name == package or name.startswith(package + "."))


@pytest.mark.parametrize("function", api_routes.FUNCTIONS)
def test_a_handler_imports_nothing_it_does_not_use_at_import_time(function: str) -> None:
    # Given a fresh interpreter, as on a Lambda cold start
    # When the function's handler module is imported
    modules = _imported_by(function)
    # Then none of the modules it has no use for yet was loaded
    found = [f"{package} ({why}): {_loaded(modules, package)[:3]}" for package, why in DENIED_EVERYWHERE.items()]
    found += [
        f"{package} ({why}): {_loaded(modules, package)[:3]}"
        for package, (why, allowed) in DENIED_UNLESS_ALLOWED.items()
        if function not in allowed
    ]
    found = [line for line in found if not line.endswith(": []")]
    assert not found, f"{function} imports at import time:\n" + "\n".join(found)


def test_the_probe_sees_what_a_handler_imports() -> None:
    """The check above is not vacuous: the API, which serves an OpenAPI document, does load Powertools' resolver."""
    modules = _imported_by(api_routes.API)
    assert "signbridge.handlers.api" in modules
    assert _loaded(modules, "aws_lambda_powertools.event_handler.openapi")


# ------------------------------------------------------------------------------------------------ the worker's table


def test_every_operation_is_found_in_its_queues_family() -> None:
    evidence = {Op.BUILD_EVIDENCE_PACKAGE: build_evidence_package}  # calls no provider: on the One-Shot queue
    for op in Op:
        family = zapsign.OPERATIONS if op.queue == "zapsign" else {**oneshot.OPERATIONS, **evidence}
        assert registry.lookup(op.value) is family[op]
    for name in ("", "Hello from SQS!", "CREATE_ZAPSIGN_DOCUMENT"):
        with pytest.raises(registry.UnknownOperationError):
            registry.lookup(name)


def test_the_worker_imports_an_operation_family_when_it_first_runs_one() -> None:
    # Given a fresh worker
    probe = (
        "import json, sys, signbridge.handlers.worker as worker; "
        "families = lambda: [f for f in ('zapsign', 'oneshot') if 'signbridge.workflow.' + f in sys.modules]; "
        "before = families(); worker.registry.lookup('send_oneshot_otp'); "
        "print(json.dumps([before, families()]))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    # When it looks up a One-Shot operation, Then only the One-Shot family is loaded, and only then
    assert json.loads(result.stdout) == [[], ["oneshot"]]


def test_the_operation_families_load_pdf_verification_only_when_they_verify() -> None:
    # Given a fresh interpreter
    probe = (
        "import json, sys, signbridge.workflow.zapsign, signbridge.workflow.oneshot; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('pyhanko', 'pyhanko_certvalidator') "
        "or m.startswith('signbridge.verification'))))"
    )
    # When it imports every operation of the worker
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    # Then neither pyHanko nor the verification package is loaded: the verifying call imports them
    assert json.loads(result.stdout) == []
