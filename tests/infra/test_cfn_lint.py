"""cfn-lint has nothing to say about the synthesized templates, except one justified warning."""

from __future__ import annotations

import pytest
from cfnlint.api import ManualArgs, lint_file

from infra.lint import CFN_LINT_IGNORED

from .conftest import Synth

pytestmark = pytest.mark.infra


@pytest.mark.parametrize("synth_name", ["synth", "full_synth"])
def test_template_is_cfn_lint_clean(synth_name: str, request: pytest.FixtureRequest) -> None:
    synth: Synth = request.getfixturevalue(synth_name)
    matches = lint_file(synth.template_path, config=ManualArgs(ignore_checks=list(CFN_LINT_IGNORED)))
    assert [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches] == []
