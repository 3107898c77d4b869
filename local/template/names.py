"""Local names: each resource's local name, ARN or URL (`LocalNames`), in the account and region of `AwsIdentity`."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from local.template.parser import _bool
from local.template.resolver import Resolver
from local.template.specs import TemplateModel, TemplateWarning


@dataclass(frozen=True)
class AwsIdentity:
    region: str = "us-east-1"
    account_id: str = "123456789012"  # moto's default account
    partition: str = "aws"
    url_suffix: str = "amazonaws.com"


@dataclass
class Physical:
    """What a resource is called locally: its `Ref` value and its `Fn::GetAtt` attributes."""

    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


class LocalNames:
    """Local physical names, ARNs and URLs for every resource, the way CloudFormation would name them.

    Names the template sets are kept. Generated names are deterministic (`<stack>-<logical id>`, shaped to each
    service's rules), so two boots of the same template name things the same. Values only known after a resource
    exists (a secret's ARN, the gateway URL) are registered with `register`.
    """

    def __init__(
        self,
        model: TemplateModel,
        *,
        identity: AwsIdentity,
        aws_endpoint_url: str,
        api_url: str = "",
    ) -> None:
        self.model = model
        self.identity = identity
        self.aws_endpoint_url = aws_endpoint_url.rstrip("/")
        self.api_url = api_url.rstrip("/")
        self._registered: dict[str, Physical] = {}
        self.warnings: list[TemplateWarning] = []  # shared by every `Resolver` over these names

    def localize(self, text: str) -> str:
        """Replace an HTTP API's execute-api address (what the CDK builds a stage URL from) with the local gateway's."""
        if not self.api_url or ".execute-api." not in text:
            return text
        ident = self.identity
        for logical_id in self.model.apis:
            api_id = self.physical(logical_id).ref
            text = text.replace(f"https://{api_id}.execute-api.{ident.region}.{ident.url_suffix}", self.api_url)
        return text

    def register(self, logical_id: str, physical: Physical) -> None:
        self._registered[logical_id] = physical

    def physical(self, logical_id: str) -> Physical:
        if logical_id in self._registered:
            return self._registered[logical_id]
        resource = self.model.resources.get(logical_id)
        if resource is None:
            raise KeyError(logical_id)
        physical = self._derive(logical_id, str(resource.get("Type", "")), resource.get("Properties") or {})
        self._registered[logical_id] = physical
        return physical

    # Names -------------------------------------------------------------------------------------------------------

    def generated_name(self, logical_id: str, *, max_length: int, lower: bool = False, suffix: str = "") -> str:
        digest = hashlib.sha256(f"{self.model.stack_name}/{logical_id}".encode()).hexdigest()[:8].upper()
        base = f"{self.model.stack_name}-{logical_id}"
        room = max_length - len(suffix) - len(digest) - 1
        name = f"{base[:room]}-{digest}{suffix}"
        if lower:
            name = re.sub(r"[^a-z0-9-]", "-", name.lower())
        return name

    def _given_name(self, value: Any) -> str | None:
        if value is None:
            return None
        return str(Resolver(self.model, self).resolve(value))

    def _arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        ident = self.identity
        return (
            f"arn:{ident.partition}:{service}:{ident.region if region else ''}:"
            f"{ident.account_id if account else ''}:{resource}"
        )

    def _derive(self, logical_id: str, kind: str, props: Mapping[str, Any]) -> Physical:  # noqa: PLR0911 - per type
        ident = self.identity
        if kind == "AWS::SQS::Queue":
            fifo = _bool(props.get("FifoQueue", False))
            name = self._given_name(props.get("QueueName")) or self.generated_name(
                logical_id, max_length=80, suffix=".fifo" if fifo else ""
            )
            url = f"{self.aws_endpoint_url}/{ident.account_id}/{name}"
            arn = self._arn("sqs", name)
            return Physical(url, {"Arn": arn, "QueueUrl": url, "QueueName": name})
        if kind in ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"):
            name = self._given_name(props.get("TableName")) or self.generated_name(logical_id, max_length=255)
            arn = self._arn("dynamodb", f"table/{name}")
            return Physical(name, {"Arn": arn, "StreamArn": f"{arn}/stream/local", "TableId": name})
        if kind == "AWS::S3::Bucket":
            name = self._given_name(props.get("BucketName")) or self.generated_name(
                logical_id, max_length=63, lower=True
            )
            return Physical(
                name,
                {
                    "Arn": self._arn("s3", name, region=False, account=False),
                    "DomainName": f"{name}.s3.{ident.url_suffix}",
                    "RegionalDomainName": f"{name}.s3.{ident.region}.{ident.url_suffix}",
                    "DualStackDomainName": f"{name}.s3.dualstack.{ident.region}.{ident.url_suffix}",
                    "WebsiteURL": f"http://{name}.s3-website-{ident.region}.{ident.url_suffix}",
                },
            )
        if kind == "AWS::SecretsManager::Secret":
            name = self._given_name(props.get("Name")) or self.generated_name(logical_id, max_length=256)
            arn = self._arn("secretsmanager", f"secret:{name}")  # replaced by moto's real ARN once created
            return Physical(arn, {"Id": arn, "Name": name})
        if kind == "AWS::Lambda::Function":
            name = self._given_name(props.get("FunctionName")) or self.generated_name(logical_id, max_length=64)
            return Physical(name, {"Arn": self._arn("lambda", f"function:{name}")})
        if kind == "AWS::ApiGatewayV2::Api":
            api_id = hashlib.sha256(logical_id.encode()).hexdigest()[:10]
            return Physical(api_id, {"ApiEndpoint": self.api_url, "ApiId": api_id})
        if kind == "AWS::ApiGatewayV2::Stage":
            return Physical(str(props.get("StageName", "$default")))
        if kind == "AWS::Events::Rule":
            name = self._given_name(props.get("Name")) or self.generated_name(logical_id, max_length=64)
            return Physical(name, {"Arn": self._arn("events", f"rule/{name}")})
        if kind == "AWS::Logs::LogGroup":
            name = self._given_name(props.get("LogGroupName")) or self.generated_name(logical_id, max_length=512)
            return Physical(name, {"Arn": self._arn("logs", f"log-group:{name}:*")})
        if kind == "AWS::SNS::Topic":
            name = self._given_name(props.get("TopicName")) or self.generated_name(logical_id, max_length=256)
            arn = self._arn("sns", name)
            return Physical(arn, {"TopicArn": arn, "TopicName": name})
        if kind == "AWS::IAM::Role":
            name = self.generated_name(logical_id, max_length=64)
            return Physical(name, {"Arn": self._arn("iam", f"role/{name}", region=False), "RoleId": name})
        if kind == "AWS::KMS::Key":
            key_id = hashlib.sha256(logical_id.encode()).hexdigest()[:32]
            return Physical(key_id, {"Arn": self._arn("kms", f"key/{key_id}"), "KeyId": key_id})
        # Anything else: a stable dummy. Only reached for recognised, non-emulated resources.
        name = self.generated_name(logical_id, max_length=128)
        return Physical(name, {"Arn": self._arn(kind.split("::")[1].lower() if "::" in kind else "local", name)})
