"""`signbridge evidence`: check a sealed evidence package offline (`verify`), download one (`get`).

`verify` needs nothing of SignBridge's deployment: the ZIP, the evidence key's public key (`--public-key`, pinned from
the stack's `EvidenceKeyArn`, or `--key-id`, read from KMS with your credentials) and, for the PDFs' signatures, the
trust anchors (`--trust-anchors`). docs/evidence.md says what it checks and how a third party checks the same with
openssl alone.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from signbridge import env_names
from signbridge.domain.errors import RequestNotFoundError
from signbridge.domain.models import RequestStatus
from signbridge.storage.seal import KmsSealer
from signbridge.verification.package import check_package
from signbridge.verification.pdf import PdfSignatureVerifier
from signbridge_cli.errors import EXIT_FAILED, EXIT_USAGE, CommandError
from signbridge_cli.output import Output, table
from signbridge_cli.target import resolve_target

CHUNK_BYTES = 1024 * 1024

evidence_app = typer.Typer(help="Evidence packages: check one offline, download one.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]
StageOption = Annotated[
    str | None,
    typer.Option("--stage", "-s", help="A deployed stage: resources from the outputs of stack SignBridge-STAGE."),
]


@evidence_app.command("verify")
def verify(
    ctx: typer.Context,
    *,
    package: Annotated[Path, typer.Argument(help="The evidence package (ZIP).", exists=True, dir_okay=False)],
    public_key: Annotated[
        Path | None,
        typer.Option("--public-key", help="The evidence key's public key (PEM), pinned from a source you trust."),
    ] = None,
    key_id: Annotated[
        str | None,
        typer.Option("--key-id", help="Read the public key from KMS (key ARN, id or alias; your AWS credentials)."),
    ] = None,
    trust_anchors: Annotated[
        Path | None,
        typer.Option(
            "--trust-anchors",
            help="PEM bundle of the roots the PDFs' signatures must chain to "
            f"(default: ${env_names.TRUST_ANCHORS_FILE}).",
        ),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Check a package offline: the manifest's seal, every file's sha256 and size (none missing, none extra), and
    each signed PDF's signatures against its validation report. Exit 1 when anything fails.

    **Examples**

        signbridge evidence verify evidence.zip --public-key evidence-key.pem --trust-anchors roots.pem
        signbridge evidence verify evidence.zip --key-id alias/signbridge-prod-evidence --json
    """
    out = _output(ctx, json)
    if public_key is not None and key_id is not None:
        raise CommandError("give --public-key or --key-id, not both", EXIT_USAGE)
    pem: bytes | None = None
    if public_key is not None:
        pem = public_key.read_bytes()
    elif key_id is not None:
        pem = KmsSealer(key_id).public_key_pem().encode()
    anchors = trust_anchors or _default_anchors()
    verifier = PdfSignatureVerifier.from_pem_bundle(anchors) if anchors is not None else None
    result = check_package(package, public_key_pem=pem, pdf_verifier=verifier)

    def render(console: Console) -> None:
        verdict = "[green]VALID[/green]" if result.ok else "[red]NOT VALID[/red]"
        console.print(f"{package.name}: {verdict} (request {result.request_id or '?'})")
        console.print(
            table(
                None,
                ("check", "result"),
                [
                    ("seal", f"{'verifies' if result.seal_valid else 'does not verify'}"),
                    ("public key", result.public_key),
                    ("key", result.key_id or "-"),
                    ("files", f"{result.files_checked} checked"),
                    ("signed PDFs", f"{result.pdfs_checked} checked, {result.signatures_checked} signatures"),
                ],
            )
        )
        for problem in result.problems:
            console.print(f"[red]problem[/red]: {problem}", highlight=False)
        for warning in result.warnings:
            console.print(f"[yellow]warning[/yellow]: {warning}", highlight=False)

    out.result(result.as_dict(), render)
    if not result.ok:
        raise typer.Exit(EXIT_FAILED)


@evidence_app.command("get")
def get(
    ctx: typer.Context,
    request_id: str,
    output_file: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where to write it (default: evidence-REQUEST_ID.zip).")
    ] = None,
    stage: StageOption = None,
    json: JsonOption = False,
) -> None:
    """Download a completed request's evidence package (from the bucket, with your AWS credentials), checking its
    sha256 against the one recorded.

    **Examples**

        signbridge evidence get 9f2c4e0b6a0d4d4fa8a3c1e0c2a1b7de
        signbridge evidence get 9f2c4e0b6a0d4d4fa8a3c1e0c2a1b7de -o case-42.zip --stage prod
    """
    out = _output(ctx, json)
    services = resolve_target(stage).services()
    try:
        request = services.records.get_request_item(request_id)
    except RequestNotFoundError:
        raise CommandError(f"no request {request_id}") from None
    if request.status is not RequestStatus.COMPLETED:
        raise CommandError(f"the request is {request.status.value}: only a completed request has an evidence package")
    if request.evidence_pending or request.evidence_key is None:
        raise CommandError("the evidence package is being built: try again in a few seconds")
    target = output_file or Path(f"evidence-{request_id}.zip")
    hasher = hashlib.sha256()
    size = 0
    partial = target.with_name(target.name + ".part")
    with services.files.open_stream(request.evidence_key) as stream, partial.open("wb") as written:
        for chunk in stream.iter_chunks(CHUNK_BYTES):
            hasher.update(chunk)
            size += len(chunk)
            written.write(chunk)
    if hasher.hexdigest() != request.evidence_sha256:
        partial.unlink()
        raise CommandError("the stored package's sha256 is not the one recorded: not saved")
    partial.replace(target)
    answer = {
        "request_id": request_id,
        "file": str(target),
        "sha256": request.evidence_sha256,
        "size": size,
        "built_at": request.evidence_built_at.isoformat() if request.evidence_built_at else None,
    }
    out.result(answer, lambda console: console.print(f"{target} ({size} bytes, sha256 {request.evidence_sha256})"))


def _default_anchors() -> Path | None:
    value = os.environ.get(env_names.TRUST_ANCHORS_FILE, "")
    return Path(value) if value else None


def _output(ctx: typer.Context, json_mode: bool) -> Output:
    streams = ctx.obj or {}
    return Output(json_mode=json_mode, out=streams.get("out"), err=streams.get("err"))
