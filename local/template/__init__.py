"""Read the synthesized CloudFormation template into a typed model of what the local stack must emulate.

The local stack is wired from `cdk.out/SignBridge-<stage>.template.json`, never from a second description of the
infrastructure, so that local and cloud cannot drift: a route, queue, event source mapping, S3 notification,
schedule, table index or environment variable exists locally because the template says so.

Two steps, because some values are only known once the emulated resources exist (a Secrets Manager ARN carries a
random suffix, the gateway's port is picked by the OS):

1. `load_template(path)` parses the template into a `TemplateModel`: plain dataclasses whose cross-references are
   logical ids, and whose free-form values (environment variables, names) stay raw CloudFormation.
2. `Resolver(model, names)` turns raw values into local ones: `Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`,
   `Fn::Select`, `Fn::Split`, `Fn::If`, `Fn::FindInMap`, `Fn::Base64`, `Fn::GetAZs` and the pseudo parameters, each
   resource mapped to its local name, ARN or URL by `LocalNames`.

Nothing is ignored silently: a resource type, property or intrinsic function the reader does not understand becomes a
`TemplateWarning` that the stack prints (and the tests assert the real template produces none). The CDK's own helper
resources are recognised and skipped, all listed in `CDK_HELPER_LOGICAL_ID_PREFIXES` / `CDK_HELPER_TYPES`.

Modules: `specs` (the model), `parser` (`load_template`), `names` (`LocalNames`, `AwsIdentity`) and `resolver`.
"""
