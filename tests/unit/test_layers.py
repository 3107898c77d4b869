"""The layers of `functions/signbridge/` (docs/architecture.md), enforced on the source: each import is checked
against the rules of the importing module's layer, and a failure names the module, the import and the rule.

Every import counts, also one inside a function or under `TYPE_CHECKING`: a layer that may not import another may
not know its types either.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[2] / "functions"
PACKAGE = "signbridge"

SHARED = frozenset({"config", "env_names", "observability", "telemetry", "api_routes"})
"""Leaf modules used across layers; they import no layer (only each other)."""

LAYERS = ("domain", "workflow", "storage", "providers", "verification", "handlers", "wiring", "shared")

# layer -> the SignBridge layers it may import (besides itself)
MAY_IMPORT: dict[str, frozenset[str]] = {
    "domain": frozenset(),
    "workflow": frozenset({"domain", "shared"}),
    "storage": frozenset({"domain", "shared"}),
    "providers": frozenset({"domain", "shared"}),
    "verification": frozenset({"domain"}),
    "wiring": frozenset({"domain", "workflow", "storage", "providers", "verification", "shared"}),
    "handlers": frozenset({"domain", "workflow", "storage", "providers", "verification", "wiring", "shared"}),
    "shared": frozenset(),
}

# layer -> third-party top-level packages it may not import
FORBIDDEN_LIBRARIES: dict[str, frozenset[str]] = {
    "domain": frozenset(
        {"boto3", "botocore", "requests", "aws_lambda_powertools", "mypy_boto3_dynamodb", "pyhanko", "asn1crypto"}
    ),
    # the verification edge reads PDFs and certificates; it talks to no AWS service and no provider
    "verification": frozenset({"boto3", "botocore", "requests", "aws_lambda_powertools"}),
}


def layer_of(module: str) -> str | None:
    """The layer of a `signbridge.*` module; None for the package itself (`signbridge/__init__.py`, `__version__`)."""
    parts = module.split(".")
    if parts[0] != PACKAGE or len(parts) == 1 or parts[1].startswith("__"):
        return None
    top = parts[1]
    if top in SHARED:
        return "shared"
    if top in LAYERS:
        return top
    raise AssertionError(f"{module}: not in any layer; add it to docs/architecture.md and to this test")


def imported_modules(module: str, source: str, *, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """(line, absolute name) of every import in `source`. `from signbridge.x import y` yields `signbridge.x.y`
    (y may be a module: `from signbridge import config` is an import of `signbridge.config`)."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.split(".")[0] == PACKAGE:
                for alias in node.names:
                    yield node.lineno, f"{base}.{alias.name}"
            else:
                yield node.lineno, base


def violations(module: str, source: str, *, is_package: bool = False) -> list[str]:
    """Each import of `source` (the text of `module`) that breaks its layer's rules, as a readable line."""
    own = layer_of(module)
    if own is None:
        return []
    found = []
    for line, target in imported_modules(module, source, is_package=is_package):
        top = target.split(".")[0]
        if top in FORBIDDEN_LIBRARIES.get(own, frozenset()):
            found.append(f"{module}:{line} imports {target}: the {own} layer may not import {top}")
            continue
        target_layer = layer_of(target) if top == PACKAGE else None
        if target_layer is None or target_layer == own:
            continue
        if target_layer not in MAY_IMPORT[own]:
            allowed = ", ".join(sorted(MAY_IMPORT[own])) or "nothing of SignBridge"
            found.append(f"{module}:{line} imports {target}: the {own} layer may import only {allowed}")
    return found


def signbridge_modules() -> Iterator[tuple[str, Path]]:
    for path in sorted((PACKAGE_ROOT / PACKAGE).rglob("*.py")):
        relative = path.relative_to(PACKAGE_ROOT).with_suffix("")
        parts = list(relative.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def test_every_module_keeps_to_its_layer() -> None:
    # Given every module of functions/signbridge
    # When each import is checked against the rules of the importing module's layer
    found = [
        problem
        for module, path in signbridge_modules()
        for problem in violations(module, path.read_text(), is_package=path.name == "__init__.py")
    ]
    # Then none breaks a rule
    assert not found, "imports that break the layers (docs/architecture.md):\n" + "\n".join(found)


def test_the_domain_is_not_empty_and_every_layer_is_found() -> None:
    # Given the modules of functions/signbridge
    layers = {layer_of(module) for module, _ in signbridge_modules()}
    # Then each layer the rules name exists (a renamed folder would otherwise escape every rule)
    assert set(LAYERS) <= layers


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("signbridge.domain.models", "from signbridge.storage.records import RecordStore", "the domain layer"),
        ("signbridge.domain.models", "from signbridge import config", "signbridge.config"),
        ("signbridge.domain.models", "import botocore.exceptions", "may not import botocore"),
        ("signbridge.domain.verification", "from pyhanko.sign import validation", "may not import pyhanko"),
        ("signbridge.verification.pdf", "from signbridge.workflow.ports import X", "the verification layer"),
        ("signbridge.verification.pdf", "from signbridge import config", "signbridge.config"),
        ("signbridge.verification.pdf", "import boto3", "may not import boto3"),
        ("signbridge.workflow.ports", "from signbridge.verification.pdf import X", "the workflow layer"),
        ("signbridge.workflow.planner", "from signbridge.storage import records", "signbridge.storage.records"),
        ("signbridge.workflow.progress", "from signbridge.wiring import get_services", "the workflow layer"),
        ("signbridge.storage.secrets", "from signbridge.providers.oneshot import X", "the storage layer"),
        ("signbridge.providers.zapsign", "from ..workflow import services", "signbridge.workflow.services"),
        ("signbridge.storage.files", "if TYPE_CHECKING:\n    from signbridge.handlers import api", "handlers"),
    ],
)
def test_a_broken_rule_is_reported_with_the_module_and_the_import(module: str, source: str, expected: str) -> None:
    # Given a module whose source imports what its layer may not
    # When its imports are checked
    found = violations(module, source)
    # Then the problem names the module and the rule
    assert len(found) == 1
    assert found[0].startswith(f"{module}:")
    assert expected in found[0]


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("signbridge.workflow.planner", "from signbridge.domain.models import Document"),
        ("signbridge.storage.records", "from signbridge.domain import lifecycle\nfrom signbridge.config import X"),
        ("signbridge.handlers.api", "from signbridge.wiring import get_services\nfrom signbridge.storage import x"),
        ("signbridge.domain.changes", "from signbridge.domain.models import Document\nimport pydantic"),
        ("signbridge.verification.pdf", "from signbridge.domain.verification import FileReport\nimport pyhanko"),
        ("signbridge.wiring", "from signbridge.verification.pdf import PdfSignatureVerifier"),
    ],
)
def test_imports_the_layers_allow_pass(module: str, source: str) -> None:
    assert violations(module, source) == []


def test_the_planner_loads_no_aws_or_http_library() -> None:
    # Given a fresh interpreter
    # When it imports the planner (and with it the domain)
    code = (
        "import sys; import signbridge.workflow.planner; "
        "print(','.join(m for m in ('botocore', 'boto3', 'requests') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PACKAGE_ROOT, timeout=60
    )
    # Then neither botocore, boto3 nor requests was loaded
    assert result.stdout.strip() == ""
