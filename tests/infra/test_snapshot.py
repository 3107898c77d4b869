"""The release check's template snapshot: normalized (no asset hashes), and changes to IAM, data retention and public
access flagged by name."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from infra import snapshot

from .conftest import Synth

pytestmark = pytest.mark.infra


def test_normalizing_removes_asset_hashes_and_cdk_metadata(synth: Synth) -> None:
    normalized = snapshot.normalize(synth.template)
    text = json.dumps(normalized)
    assert "<asset-hash>.zip" in text
    assert not snapshot._HASH.search(text)
    assert "CDKMetadata" not in normalized["Resources"]
    assert snapshot.normalize(normalized) == normalized


def test_an_unchanged_template_matches_and_a_changed_one_is_reported(synth: Synth, tmp_path: Path) -> None:
    template = tmp_path / "SignBridge-dev.template.json"
    template.write_text(json.dumps(synth.template), encoding="utf-8")
    reviewed = tmp_path / "snapshot.json"
    assert snapshot.update(template, reviewed) == 0
    assert snapshot.check(template, reviewed) == 0
    changed = copy.deepcopy(synth.template)
    changed["Resources"]["Table"]["DeletionPolicy"] = "Retain"
    template.write_text(json.dumps(changed), encoding="utf-8")
    assert snapshot.check(template, reviewed) == 1


def test_changes_to_iam_retention_and_public_access_are_flagged(synth: Synth) -> None:
    old = snapshot.normalize(synth.template)
    new = copy.deepcopy(old)
    policy_id = next(key for key, value in new["Resources"].items() if value["Type"] == "AWS::IAM::Policy")
    new["Resources"][policy_id]["Properties"]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    )
    new["Resources"]["Table"]["DeletionPolicy"] = "Retain"
    new["Resources"]["Bucket"]["Properties"].pop("PublicAccessBlockConfiguration")
    lines = "\n".join(snapshot.report(old, new))
    assert f"changed  {policy_id} (AWS::IAM::Policy)  <- IAM" in lines
    assert "changed  Table (AWS::DynamoDB::Table)  <- data retention" in lines
    assert "changed  Bucket (AWS::S3::Bucket)  <- public access" in lines
    unchanged = [line for line in lines.splitlines() if "ApiFunction " in line]
    assert not unchanged
