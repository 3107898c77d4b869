"""The local stack: the AWS emulation and all of SignBridge on one machine, on loopback, wired from the synthesized
CloudFormation template.

`local.stack.LocalStack` composes the pieces: `synth` (template reuse), `template` (the reader and the resolver),
`aws` (the moto emulator, shared with the tests), `provision` (the template's resources in it), `runtime` and
`environ` (handlers in-process, each with its own environment), `gateway` (HTTP API), `pollers` (SQS event source
mappings), `notifications` (S3 -> Lambda), `scheduler` (EventBridge rules), `companions` (the providers: the
simulators of the top-level `simulators` package, or the real sandboxes) and `background` (the one way a server runs
in the background). `python -m local` runs it. docs/local.md says what is emulated and what is not.
"""
