"""Synthesis reuse: the template is synthesized again only when an input of the CDK app changed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from local import synth


def make_root(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "infra" / "constructs").mkdir(parents=True)
    (root / "functions" / "signbridge" / "storage").mkdir(parents=True)
    (root / "functions" / "signbridge" / "domain").mkdir(parents=True)
    (root / "app.py").write_text("print('app')\n")
    (root / "cdk.json").write_text("{}\n")
    (root / "infra" / "stack.py").write_text("STACK = 1\n")
    (root / "infra" / "constructs" / "api.py").write_text("API = 1\n")
    for name in ("env_names.py", "api_routes.py", "storage/schema.py", "domain/keys.py"):
        (root / "functions" / "signbridge" / name).write_text(f"# {name}\n")
    return root


def test_the_digest_follows_the_inputs_and_nothing_else(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    before = synth.input_digest(root=root, stage="local")
    (root / "functions" / "signbridge" / "providers.py").write_text("# not a synth input\n")
    (root / "README.md").write_text("docs\n")
    assert synth.input_digest(root=root, stage="local") == before
    assert synth.input_digest(root=root, stage="other") != before
    assert synth.input_digest(root=root, stage="local", context={"cors_origins": ["x"]}) != before
    for changed in (
        "infra/constructs/api.py",
        "app.py",
        "cdk.json",
        "functions/signbridge/storage/schema.py",
        "functions/signbridge/domain/keys.py",
    ):
        path = root / changed
        original = path.read_text()
        path.write_text(original + "# changed\n")
        assert synth.input_digest(root=root, stage="local") != before, changed
        path.write_text(original)
    assert synth.input_digest(root=root, stage="local") == before
    (root / "stages").mkdir()
    (root / "stages" / "other.json").write_text('{"alarm_email": "ops@example.com"}\n')
    assert synth.input_digest(root=root, stage="local") == before  # another stage's settings
    (root / "stages" / "local.json").write_text('{"alarm_email": "ops@example.com"}\n')
    assert synth.input_digest(root=root, stage="local") != before  # this stage's settings


def test_an_unchanged_app_reuses_the_template(real_template: Path, tmp_path: Path) -> None:
    # Given a template synthesized for the current inputs (the session fixture made sure of it)
    outdir = tmp_path / "cdk.out"
    outdir.mkdir()
    shutil.copy(real_template, outdir / real_template.name)
    digest = synth.input_digest(stage=synth.DEFAULT_STAGE)
    (outdir / f".signbridge-local-synth-{synth.DEFAULT_STAGE}.stamp").write_text(digest + "\n")
    before = (outdir / real_template.name).stat().st_mtime_ns

    # When it is asked for again, then it is returned as it was, without running the CDK app
    assert synth.ensure_template(outdir=outdir) == outdir / real_template.name
    assert (outdir / real_template.name).stat().st_mtime_ns == before


def test_a_failed_synth_says_why(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    (root / "app.py").write_text("raise SystemExit('infra is broken')\n")
    with pytest.raises(synth.SynthError, match="infra is broken"):
        synth.ensure_template(outdir=tmp_path / "out", root=root)
    assert not (tmp_path / "out" / "SignBridge-local.template.json").exists()
