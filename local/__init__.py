"""The local stack: all of SignBridge on one machine, on loopback, wired from the synthesized CloudFormation template.

`local.stack.LocalStack` composes the pieces: `synth` (template reuse), `template` (the reader and the resolver),
`aws` (moto and the resources), `runtime` (handlers in-process), `gateway` (HTTP API), `pollers` (SQS event source
mappings), `notifications` (S3 -> Lambda), `scheduler` (EventBridge rules). `python -m local` runs it.
docs/local.md says what is emulated and what is not.
"""
