"""cfn-lint on the synthesized templates, with the one check SignBridge ignores (and why).

`python -m infra.lint cdk.out/*.template.json` (what `make cfn-lint` runs); the infra tests lint the templates they
synthesize with the same settings.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cfnlint.api import ManualArgs, lint_file

# W3005 "dependency already enforced by a GetAtt": CDK writes an explicit DependsOn from each Lambda function to
# its role (and default policy) next to the Fn::GetAtt of the role's ARN. Redundant, harmless, and not ours to edit.
CFN_LINT_IGNORED = ("W3005",)


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m infra.lint TEMPLATE...", file=sys.stderr)
        return 2
    failed = False
    for template in argv:
        matches = lint_file(Path(template), config=ManualArgs(ignore_checks=list(CFN_LINT_IGNORED)))
        for match in matches:
            print(f"{template}: {match.rule.id} {match.message} ({'/'.join(map(str, match.path))})")
        failed = failed or bool(matches)
        if not matches:
            print(f"{template}: cfn-lint clean (ignoring {', '.join(CFN_LINT_IGNORED)})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
