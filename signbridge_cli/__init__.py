"""`signbridge`: the operators' and developers' command line.

    signbridge run [--port 0 --no-demo ...]            the local stack (`python -m local`, same options)
    signbridge show REQUEST_ID [--json]                where a request stands: status, documents, signers, timeline
    signbridge replay RAW_KEY                          re-enqueue the hint of a stored webhook body (raw/...)
    signbridge redrive zapsign|oneshot [--dry-run]     move a queue's dead letters back onto it
    signbridge register-webhook [--url URL]            register SignBridge's webhook at ZapSign with its secret header
    signbridge trigger reconciler|housekeeper [--at T] run a schedule's work once and print its report

Also `python -m signbridge_cli …`. Modules: `main` (parser, exit codes), `commands`, `settings` (stack outputs,
variables), `show`, `replay`, `redrive`, `errors`.

Every command but `run` works against whatever AWS endpoint boto3 is configured for:
real AWS with the operator's credentials, or the local stack's moto (`AWS_ENDPOINT_URL`). Resource names come from
the CloudFormation outputs of `SignBridge-{stage}` with `--stage`, or else from the `SIGNBRIDGE_*` environment
variables the functions read (`signbridge.env_names`); variables also fill what the outputs do not give (the
provider base URLs, `SIGNBRIDGE_ONESHOT_ENV`, ...). docs/operations.md has the operator's walkthroughs.

What is printed never carries personal data (names, e-mails, phones, ID numbers, document names, signing links) nor
a secret or a provider token: signers and documents are shown by index and status.
"""

from signbridge_cli.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CommandError
from signbridge_cli.main import main

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "CommandError", "main"]
