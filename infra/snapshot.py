"""The reviewed snapshot of the synthesized template: `make release-check` compares, `make snapshot` accepts.

`infra/snapshots/SignBridge-dev.template.json` is the dev stage's template as last reviewed, normalized so that it
changes only when the infrastructure does: the asset hash (it changes with every code change) and CDK's version
metadata are replaced by placeholders. A pull request that changes IAM, data retention or public access therefore
shows the change twice: in the snapshot's diff, and in `make release-check`'s summary, which names each changed
resource and flags those three kinds of change.

    python -m infra.snapshot check  cdk.out/SignBridge-dev.template.json   # exit 1 and a report if it differs
    python -m infra.snapshot update cdk.out/SignBridge-dev.template.json   # write the snapshot
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT_DIR = REPO_ROOT / "infra" / "snapshots"
_HASH = re.compile(r"\b[0-9a-f]{64}\b")

# What a reviewer must not miss: resource types and property names by the kind of change they make.
IAM_TYPES = ("AWS::IAM::", "AWS::Lambda::Permission", "AWS::SQS::QueuePolicy", "AWS::S3::BucketPolicy")
RETENTION_KEYS = (
    "DeletionPolicy",
    "UpdateReplacePolicy",
    "DeletionProtectionEnabled",
    "PointInTimeRecoverySpecification",
    "LifecycleConfiguration",
    "RetentionInDays",
    "MessageRetentionPeriod",
    "VersioningConfiguration",
    "TimeToLiveSpecification",
)
PUBLIC_KEYS = (
    "PublicAccessBlockConfiguration",
    "AuthorizationType",
    "AuthorizerId",
    "CorsConfiguration",
    "Principal",
    "OwnershipControls",
)


def snapshot_path(stage: str = "dev") -> Path:
    return SNAPSHOT_DIR / f"SignBridge-{stage}.template.json"


def normalize(template: dict[str, Any]) -> dict[str, Any]:
    """The template without what changes on every build: asset hashes, CDK's analytics resource."""
    text = _HASH.sub("<asset-hash>", json.dumps(template, sort_keys=True))
    normalized: dict[str, Any] = json.loads(text)
    normalized.get("Resources", {}).pop("CDKMetadata", None)
    normalized.get("Conditions", {}).pop("CDKMetadataAvailable", None)
    if normalized.get("Conditions") == {}:
        del normalized["Conditions"]
    return normalized


def render(template: dict[str, Any]) -> str:
    return json.dumps(template, indent=1, sort_keys=True) + "\n"


STATEFUL_TYPES = ("AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::SecretsManager::Secret", "AWS::Logs::LogGroup")


def flags(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[str]:
    """Which kinds of change a resource's change is: IAM, data retention, public access."""
    found = []
    resource_type = str((new or old or {}).get("Type", ""))
    if resource_type.startswith(IAM_TYPES) or _differs(old, new, ("PolicyDocument", "Policies", "Role")):
        found.append("IAM")
    added_or_removed = (old is None) != (new is None)
    if _differs(old, new, RETENTION_KEYS) or (added_or_removed and resource_type in STATEFUL_TYPES):
        found.append("data retention")
    if _differs(old, new, PUBLIC_KEYS):
        found.append("public access")
    return found


def _differs(old: dict[str, Any] | None, new: dict[str, Any] | None, keys: tuple[str, ...]) -> bool:
    return any(_find(old, key) != _find(new, key) for key in keys)


def _find(node: Any, key: str) -> list[str]:
    """Every value under `key`, anywhere in `node`, as JSON text."""
    found: list[str] = []
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key:
                found.append(json.dumps(value, sort_keys=True))
            found.extend(_find(value, key))
    elif isinstance(node, list):
        for item in node:
            found.extend(_find(item, key))
    return found


def report(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """One line per changed resource (added, removed, changed), with its flags; then the outputs and parameters."""
    lines = []
    old_resources, new_resources = old.get("Resources", {}), new.get("Resources", {})
    for logical_id in sorted(set(old_resources) | set(new_resources)):
        before, after = old_resources.get(logical_id), new_resources.get(logical_id)
        if before == after:
            continue
        change = "added" if before is None else "removed" if after is None else "changed"
        resource_type = (after or before or {}).get("Type", "?")
        marks = flags(before, after)
        lines.append(f"  {change:8} {logical_id} ({resource_type}){'  <- ' + ', '.join(marks) if marks else ''}")
    for section in ("Outputs", "Parameters", "Conditions", "Rules"):
        if old.get(section) != new.get(section):
            lines.append(f"  changed  {section}")
    return lines


def check(template_path: Path, snapshot: Path) -> int:
    new = normalize(json.loads(template_path.read_text(encoding="utf-8")))
    if not snapshot.is_file():
        print(f"{_display(snapshot)} does not exist: `make snapshot` writes it", file=sys.stderr)
        return 1
    old = json.loads(snapshot.read_text(encoding="utf-8"))
    if old == new:
        print(f"{template_path}: matches {_display(snapshot)}")
        return 0
    print(f"{template_path} differs from the reviewed {_display(snapshot)}:")
    print("\n".join(report(old, new)))
    diff = difflib.unified_diff(
        render(old).splitlines(), render(new).splitlines(), "snapshot", "synthesized", lineterm="", n=2
    )
    print("\n".join(diff))
    print("If the change is intended, `make snapshot` updates the snapshot; commit it with the change for review.")
    return 1


def update(template_path: Path, snapshot: Path) -> int:
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    snapshot.write_text(render(normalize(json.loads(template_path.read_text(encoding="utf-8")))), encoding="utf-8")
    print(f"{_display(snapshot)} updated from {template_path}")
    return 0


def _display(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("check", "update"):
        print("usage: python -m infra.snapshot check|update TEMPLATE", file=sys.stderr)
        return 2
    template_path = Path(argv[1])
    stage = template_path.name.removeprefix("SignBridge-").removesuffix(".template.json")
    return (check if argv[0] == "check" else update)(template_path, snapshot_path(stage))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
