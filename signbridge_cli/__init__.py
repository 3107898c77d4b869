"""`signbridge`: the operators' command line (typer + rich; the `cli` extra).

    signbridge requests show ID | list [--status S] [--external-id E]
    signbridge webhooks replay RAW_KEY | register [--url U] | rotate --old-webhook-id N
    signbridge dlq show [QUEUE] | redrive QUEUE [--dry-run]      (SQS StartMessageMoveTask)
    signbridge schedule run reconciler|housekeeper [--at T]
    signbridge doctor
    signbridge run [options of python -m local]

Every command but `run` takes `--stage STAGE` and `--json`. Where it works (`target`): the CloudFormation outputs of
`SignBridge-STAGE` with `--stage`; else the `SIGNBRIDGE_*` variables; else the running local stack, found through
the state file it writes (`local_state`). Modules: `main` (entry point, exit codes), `app` (the commands), `target`,
`local_state`, `output` (tables, JSON, progress), `show`, `replay`, `dlq`, `webhooks`, `doctor`, `errors`.
docs/operations.md has the operator's walkthroughs.

What is printed never carries personal data (names, e-mails, phones, ID numbers, document names, signing links) nor
a secret or a provider token: signers and documents are shown by index and status.
"""

from signbridge_cli.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CommandError
from signbridge_cli.main import main

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "CommandError", "main"]
