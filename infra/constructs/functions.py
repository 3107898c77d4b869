"""The eight Lambda functions, all from one code asset, and the worker's two SQS event sources.

Every function: python3.13 on arm64, the Powertools public layer, JSON logs into its own log group with a
retention, X-Ray active tracing, and a role of its own with no managed policy (the stack grants each role exactly
what its function uses).

One worker function serves both queues (two event source mappings): the operations share the state machine, the
storage code and the provider clients, so one deployment unit keeps them in step; each mapping has its own
`MaximumConcurrency`, so the provider limits are still enforced per queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra import bundling
from infra.common import acknowledge, pascal_case, pin_logical_id
from infra.config import OneShotVpc, WorkerConcurrency
from infra.constructs.queues import Queues
from signbridge import api_routes
from signbridge.observability import METRICS_NAMESPACE, SERVICE_NAME


@dataclass(frozen=True)
class Sizing:
    memory_mb: int
    timeout: Duration
    description: str


# API Gateway (HTTP API) cuts every integration at 30 s. The api function answers within that even on
# `POST .../otp`, which signs synchronously at the One-Shot Optimizer; 1024 MB buys CPU for validating and decoding
# inline base64 documents (a few MB) and keeps cold starts short on this synchronous path.
API = Sizing(1024, Duration.seconds(29), "HTTP API: requests, uploads, status, OTP submit (signs synchronously)")
# The signing page: a static page and small JSON answers, but `POST /sign/{token}/otp` signs synchronously at the
# One-Shot Optimizer like the api's `POST .../otp`, so the same 29 s budget; 512 MB is enough for no document decoding.
SIGNER_PAGE = Sizing(512, Duration.seconds(29), "the One-Shot signing page: HTML, its JSON endpoints, signs on OTP")
# A webhook acknowledgement is two AWS calls (store the raw body, enqueue); 10 s leaves room for a cold start and an
# SDK retry. A failure is retried by the sender.
WEBHOOK = Sizing(512, Duration.seconds(10), "webhook receiver: store the raw body, enqueue, answer 200")
# Streams one upload (up to the 50 MiB file cap) from incoming/ to hash it and check it is a PDF, then copies it.
INTAKE = Sizing(1024, Duration.seconds(60), "validates each upload under incoming/ and submits complete requests")
# One invocation handles up to WORKER_BATCH_SIZE steps in turn; a step is at most one provider call (a One-Shot
# sign, or a streamed download of a signed PDF) of up to ~20 s plus a few AWS calls. Sized by measurement (`make
# bench`, docs/benchmarks.md "Memory" and "Archive time against file size"): a new process importing the handler
# holds ~55 MiB, a step's heap peaks at ~10 MiB, and archiving a 50 MiB file at ~10.5 MiB (streamed in 8 MiB parts):
# under 100 MiB with the runtime. The worker mostly waits on HTTP, so its GB-seconds are mostly waits: 512 MB keeps
# five times the memory it needs at half the cost of 1024 MB per second waited.
WORKER = Sizing(512, Duration.seconds(120), "runs every provider call, one queued step at a time")
# Pages through the status index and re-enqueues; no provider call of its own.
RECONCILER = Sizing(512, Duration.minutes(5), "every 10 minutes: heals requests whose status has not moved")
# A daily sweep over finished and expired requests; it only records and enqueues, but may walk many items.
HOUSEKEEPER = Sizing(512, Duration.minutes(10), "daily: Optimizer clean-up, expiry, abandoned uploads")

SIZING: Mapping[str, Sizing] = {
    api_routes.API: API,
    api_routes.SIGNER_PAGE: SIGNER_PAGE,
    api_routes.ZAPSIGN_WEBHOOK: WEBHOOK,
    api_routes.ONESHOT_WEBHOOK: WEBHOOK,
    "intake": INTAKE,
    "worker": WORKER,
    "reconciler": RECONCILER,
    "housekeeper": HOUSEKEEPER,
}

# Up to 5 steps per invocation: a FIFO batch holds consecutive steps of a few requests; more would risk the
# timeout (5 x ~20 s worst case < 120 s) and, on a crash, redeliver more work.
WORKER_BATCH_SIZE = 5
# ZapSign allows 500 requests per minute per API token. A worker invocation runs its batch sequentially and makes
# at most one ZapSign call per step; a step takes at least ~0.5 s (the call plus a DynamoDB read and a conditional
# write), so one concurrent invocation makes at most 60 / 0.5 = 120 calls per minute. 4 concurrent invocations
# => at most 480 calls/min, under 500 with headroom for retries; 2 is the lowest value SQS mappings accept.
# One-Shot documents no rate limit, but every call hits one Optimizer server (4 cores in Uanataca's sizing) and
# issues certificates and SMS: 5 keeps it from being flooded. Both are context settings (worker_max_concurrency).

# The Powertools version the tests run with (pyproject pins `aws-lambda-powertools==3.37.*`; tests/infra checks the
# installed one matches). Powertools publishes each layer version's ARN as a public SSM parameter named by the exact
# release, so the functions get this release and nothing newer: no `latest`, and no guessed layer version number.
POWERTOOLS_VERSION = "3.37.0"
POWERTOOLS_LAYER_PARAMETER = f"/aws/service/powertools/python/arm64/python3.13/{POWERTOOLS_VERSION}"
POWERTOOLS_SERVICE_NAME = SERVICE_NAME

# What AWSLambdaVPCAccessExecutionRole grants, without the managed policy: Lambda manages the function's network
# interfaces with the function's role. These EC2 actions have no resource-level scoping for Describe*.
VPC_ENI_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)

VPC_REASON = (
    "In the One-Shot VPC, Lambda creates and deletes the function's network interfaces with its role; the EC2 "
    "network interface actions cannot be scoped to a resource (as in AWSLambdaVPCAccessExecutionRole)."
)
# The functions only SQS invokes (their invocations continue the sender's trace; bench/cost.py prices them so).
QUEUE_CONSUMERS = frozenset({"worker"})


def tracing_mode(name: str) -> lambda_.Tracing:
    """Active on the functions that start a request's work (API, webhooks, intake, schedules): Lambda samples each
    of their invocations (the first each second, 5% of the rest; Lambda does not apply X-Ray sampling rules, and the
    HTTP API does not trace). PassThrough on the worker, which only runs SQS messages: it records an invocation only
    when the message's trace header (AWSTraceHeader, which SQS sets from the sender's X-Amzn-Trace-Id, added by the
    AWS SDK inside Lambda) says Sampled=1, so a worker step is part of the trace that enqueued it, and a request is
    sampled as a whole rather than as some twenty traces of one invocation each (docs/infrastructure.md).

    [GUESS] Lambda's documentation states PassThrough's rule (trace only on an upstream Sampled=1) and X-Ray's that
    SQS carries the sender's header to a Lambda consumer (botocore adds X-Amzn-Trace-Id from the invocation's
    `_X_AMZN_TRACE_ID`); how a batch holding messages of several traces is recorded (the console draws SQS consumers
    as linked traces) is not stated and not verified on AWS."""
    return lambda_.Tracing.PASS_THROUGH if name in QUEUE_CONSUMERS else lambda_.Tracing.ACTIVE


XRAY_REASON = (
    "Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level "
    "permissions, so AWS requires Resource '*'; they only write telemetry."
)


class Functions(Construct):
    """`functions[name]` for every name in `api_routes.FUNCTIONS`; logical ids `{Name}Function` (e.g.
    `ZapsignWebhookFunction`), roles `{Name}Role`, log groups `{Name}LogGroup`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: Mapping[str, str],
        log_retention_days: int,
        retain_logs: bool,
        oneshot_vpc: OneShotVpc | None,
        queues: Queues,
        worker_max_concurrency: WorkerConcurrency,
    ) -> None:
        super().__init__(scope, construct_id)
        code = bundling.asset_code()
        layer_arn = ssm.StringParameter.value_for_string_parameter(self, POWERTOOLS_LAYER_PARAMETER)
        powertools = lambda_.LayerVersion.from_layer_version_arn(self, "PowertoolsLayer", layer_arn)
        retention = log_retention(log_retention_days)
        # The functions that talk to the One-Shot Optimizer: the worker, the api and the signing page (a code signs).
        in_vpc = {"worker", api_routes.API, api_routes.SIGNER_PAGE} if oneshot_vpc else set()

        self.functions: dict[str, lambda_.Function] = {}
        for name in api_routes.FUNCTIONS:
            sizing = SIZING[name]
            pascal = pascal_case(name)
            log_group = logs.LogGroup(
                self,
                f"{pascal}LogGroup",
                retention=retention,
                removal_policy=RemovalPolicy.RETAIN if retain_logs else RemovalPolicy.DESTROY,
            )
            pin_logical_id(log_group, f"{pascal}LogGroup")
            role = iam.Role(
                self,
                f"{pascal}Role",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description=f"SignBridge {name} function",
            )
            pin_logical_id(role, f"{pascal}Role")
            log_group.grant_write(role)
            function = lambda_.Function(
                self,
                f"{pascal}Function",
                description=f"SignBridge {name}: {sizing.description}",
                code=code,
                handler=api_routes.handler_path(name),
                runtime=bundling.RUNTIME,
                architecture=bundling.ARCHITECTURE,
                memory_size=sizing.memory_mb,
                timeout=sizing.timeout,
                environment={
                    **environment,
                    "POWERTOOLS_SERVICE_NAME": POWERTOOLS_SERVICE_NAME,
                    "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                },
                layers=[powertools],
                role=role,
                log_group=log_group,
                logging_format=lambda_.LoggingFormat.JSON,
                application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
                system_log_level_v2=lambda_.SystemLogLevel.WARN,
                tracing=tracing_mode(name),
            )
            pin_logical_id(function, f"{pascal}Function")
            if name in in_vpc and oneshot_vpc is not None:
                self._place_in_vpc(function, role, oneshot_vpc)
                acknowledge(role, "IAM5[Resource::*]", f"{XRAY_REASON} {VPC_REASON}")
            else:
                acknowledge(role, "IAM5[Resource::*]", XRAY_REASON)
            acknowledge(
                function,
                "L1",
                "python3.13 is the runtime SignBridge is designed and tested for (with the matching Powertools "
                "layer); moving to a newer runtime is a deliberate, tested upgrade, not an automatic one.",
            )
            self.functions[name] = function

        self.worker = self.functions["worker"]
        self.event_source_mappings: dict[str, lambda_.EventSourceMapping] = {}
        for provider, work_queue, limit in (
            ("ZapSign", queues.zapsign, worker_max_concurrency.zapsign),
            ("OneShot", queues.oneshot, worker_max_concurrency.oneshot),
        ):
            mapping = lambda_.EventSourceMapping(
                self,
                f"Worker{provider}EventSource",
                target=self.worker,
                event_source_arn=work_queue.queue.queue_arn,
                batch_size=WORKER_BATCH_SIZE,
                report_batch_item_failures=True,
                max_concurrency=limit,
            )
            pin_logical_id(mapping, f"Worker{provider}EventSourceMapping")
            work_queue.queue.grant_consume_messages(self.worker)
            self.event_source_mappings[provider] = mapping

    def __getitem__(self, name: str) -> lambda_.Function:
        return self.functions[name]

    @staticmethod
    def _place_in_vpc(function: lambda_.Function, role: iam.Role, vpc: OneShotVpc) -> None:
        """Subnets and security groups by id (no lookups: synth never calls AWS).

        Set on the L1: the L2 `vpc=` prop wants an IVpc (a VPC id and its availability zones, which the context
        does not need to know) only to select the very subnets given here. The role gets the network-interface
        permissions Lambda needs; the function already waits for its role's policy (CDK adds the DependsOn).
        """
        cfn = function.node.default_child
        assert isinstance(cfn, lambda_.CfnFunction)
        cfn.add_property_override(
            "VpcConfig",
            {"SubnetIds": list(vpc.subnet_ids), "SecurityGroupIds": list(vpc.security_group_ids)},
        )
        role.add_to_principal_policy(iam.PolicyStatement(actions=list(VPC_ENI_ACTIONS), resources=["*"]))


# The retention periods CloudWatch Logs accepts, in days, in the order of `logs.RetentionDays` (without INFINITE).
_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


def log_retention(days: int) -> logs.RetentionDays:
    """The shortest CloudWatch Logs retention of at least `days` (the API accepts only fixed values)."""
    members = [member for member in logs.RetentionDays if member is not logs.RetentionDays.INFINITE]
    for allowed, member in zip(_RETENTION_DAYS, members, strict=True):
        if allowed >= days:
            return member
    return members[-1]
