"""Each role allows exactly the S3 actions x key prefixes its function needs (infra.file_access), nothing more.

The grants on the file bucket are read back from the synthesized template: every Allow statement of a function's
role that names the bucket or its objects becomes (action, prefix) pairs, and these must equal the declaration.
"""

from __future__ import annotations

from typing import Any

import pytest

from infra import file_access
from infra.constructs import storage
from infra.file_access import FileOp
from signbridge import api_routes
from signbridge.domain import keys
from signbridge.domain.validation import MAX_ID_IMAGE_BYTES
from signbridge.storage.files import MIN_PART_SIZE
from signbridge.workflow.verification import MAX_REPORT_BYTES
from signbridge.workflow.webhooks import RAW_EVENT_MAX_BYTES

from .conftest import Synth, function_logical_id, ref

pytestmark = pytest.mark.infra


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _object_prefix(resource: Any) -> str | None:
    """`{"Fn::Join": ["", [{"Fn::GetAtt": ["Bucket", "Arn"]}, "/originals/*"]]}` -> `originals/`; None for anything
    that is not the file bucket's objects."""
    if not isinstance(resource, dict) or "Fn::Join" not in resource:
        return None
    separator, parts = resource["Fn::Join"]
    if separator != "" or len(parts) != 2 or ref(parts[0]) != storage.BUCKET_ID:
        return None
    suffix = parts[1]
    assert isinstance(suffix, str)
    assert suffix.startswith("/"), suffix
    assert suffix.endswith("*"), suffix
    return suffix[1:-1]


def _bucket_grants(synth: Synth, function: str) -> tuple[set[tuple[str, str]], set[str]]:
    """((action, prefix) on the bucket's objects, listed prefixes) that `function`'s role allows."""
    role = function_logical_id(function, "Role")
    objects: set[tuple[str, str]] = set()
    listed: set[str] = set()
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if role not in {ref(item) for item in policy["Properties"].get("Roles", [])}:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = _as_list(statement["Action"])
            s3_actions = [action for action in actions if action.startswith("s3:")]
            if not s3_actions:
                continue
            assert s3_actions == actions, f"{role}: S3 and other actions in one statement: {actions}"
            for resource in _as_list(statement["Resource"]):
                if ref(resource) == storage.BUCKET_ID:  # the bucket itself: listings, under a prefix only
                    assert s3_actions == [file_access.LIST_ACTION], (role, s3_actions)
                    (prefix_pattern,) = statement["Condition"]["StringLike"]["s3:prefix"]
                    assert prefix_pattern.endswith("*")
                    listed.add(prefix_pattern[:-1])
                    continue
                prefix = _object_prefix(resource)
                assert prefix is not None, f"{role}: S3 actions on something else than the file bucket: {resource}"
                objects.update((action, prefix) for action in s3_actions)
    return objects, listed


def _declared(function: str) -> set[tuple[str, str]]:
    return {(action, prefix) for prefix, actions in file_access.object_grants(function).items() for action in actions}


@pytest.mark.parametrize("function", api_routes.FUNCTIONS)
def test_each_role_allows_exactly_the_declared_actions_per_prefix(synth: Synth, function: str) -> None:
    objects, listed = _bucket_grants(synth, function)
    assert objects == _declared(function)
    assert listed == set(file_access.listed_prefixes(function))


def test_the_prod_stage_grants_the_same(full_synth: Synth) -> None:
    for function in api_routes.FUNCTIONS:
        objects, listed = _bucket_grants(full_synth, function)
        assert objects == _declared(function), function
        assert listed == set(file_access.listed_prefixes(function)), function


def test_every_function_is_declared() -> None:
    assert set(file_access.FILE_ACCESS) == set(api_routes.FUNCTIONS)


def test_the_api_can_store_inline_documents_and_id_images(synth: Synth) -> None:
    """Issue 10, defect 2: inline PDFs go to originals/ (maybe multipart), ID images to evidence/."""
    objects, _ = _bucket_grants(synth, api_routes.API)
    assert ("s3:PutObject", keys.ORIGINALS_PREFIX) in objects
    assert ("s3:AbortMultipartUpload", keys.ORIGINALS_PREFIX) in objects
    assert ("s3:PutObject", keys.EVIDENCE_PREFIX) in objects
    assert ("s3:PutObject", keys.INCOMING_PREFIX) in objects  # presigned upload links
    assert ("s3:GetObject", keys.EVIDENCE_PREFIX) not in objects  # no link to an ID image is ever handed out


def test_large_stores_can_finish_and_abort_a_multipart_upload(synth: Synth) -> None:
    """A multipart store copies the completed version onto itself and deletes that version, or aborts the upload."""
    store = set(file_access.OBJECT_ACTIONS[FileOp.STORE])
    for function, prefix in (
        ("intake", keys.ORIGINALS_PREFIX),
        ("worker", keys.SIGNED_PREFIX),
        ("worker", keys.CONTRACTS_PREFIX),
        (api_routes.API, keys.ORIGINALS_PREFIX),
    ):
        objects, _ = _bucket_grants(synth, function)
        assert {(action, prefix) for action in store} <= objects, (function, prefix)


def test_single_part_stores_are_capped_below_the_minimum_part_size() -> None:
    """PUT (no multipart actions) is declared only where the store's cap keeps the file in one PutObject."""
    assert RAW_EVENT_MAX_BYTES < MIN_PART_SIZE  # webhook bodies
    assert MAX_ID_IMAGE_BYTES < MIN_PART_SIZE  # ID images, from the client (api) or from ZapSign (worker)
    assert MAX_REPORT_BYTES < MIN_PART_SIZE  # validation reports (worker)
    single_part = {
        (function, prefix)
        for function, prefixes in file_access.FILE_ACCESS.items()
        for prefix, operations in prefixes.items()
        if FileOp.PUT in operations
    }
    assert single_part == {
        (api_routes.API, keys.EVIDENCE_PREFIX),
        ("worker", keys.EVIDENCE_PREFIX),
        ("worker", keys.REPORTS_PREFIX),
        (api_routes.ZAPSIGN_WEBHOOK, file_access.RAW_ZAPSIGN_PREFIX),
        (api_routes.ONESHOT_WEBHOOK, file_access.RAW_ONESHOT_PREFIX),
    }
