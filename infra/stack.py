"""The SignBridge stack: composes the constructs, wires them together (grants, triggers), and exports outputs.

Each function's role gets exactly what its function uses; nothing else grants. `build_app` is the one way to build
the CDK app (app.py, the tests and `make synth` all call it), with the AwsSolutions cdk-nag pack as a validation
plugin: an unacknowledged finding fails the synth.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aws_cdk import App, CfnOutput, RemovalPolicy, Stack, Tags, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from infra import file_access
from infra.common import acknowledge
from infra.config import StageConfig, load_cdk_json_context
from infra.constructs import secrets, storage
from infra.constructs.api import Api
from infra.constructs.functions import WORKER, Functions, log_retention
from infra.constructs.monitoring import Monitoring
from infra.constructs.queues import Queues
from infra.constructs.schedules import Schedules
from infra.constructs.secrets import Secrets
from infra.constructs.storage import Storage
from signbridge import api_routes, env_names
from signbridge.domain import keys

ZAPSIGN_WEBHOOK_PATH = "webhooks/zapsign"


class SignBridgeStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"SignBridge {config.stage}: electronic signatures through ZapSign and Uanataca One-Shot",
        )
        self.config = config
        Tags.of(self).add("project", "signbridge")
        Tags.of(self).add("stage", config.stage)

        self.storage = Storage(
            self,
            "Storage",
            retain=config.retain_stateful,
            incoming_expiry_days=config.incoming_expiry_days,
            raw_retention_days=config.raw_retention_days,
            evidence_retention_days=config.evidence_retention_days,
        )
        self.evidence_key = self._evidence_key()
        self.queues = Queues(self, "Queues", stage=config.stage, worker_timeout=WORKER.timeout)
        self.secrets = Secrets(self, "Secrets", stage=config.stage, retain=config.retain_stateful)
        self.functions = Functions(
            self,
            "Functions",
            environment=self._environment(),
            log_retention_days=config.log_retention_days,
            retain_logs=config.retain_stateful,
            oneshot_vpc=config.oneshot_vpc,
            queues=self.queues,
            worker_max_concurrency=config.worker_max_concurrency,
        )
        self.api = Api(
            self,
            "Api",
            stage_name=config.stage,
            handlers={route.function: self.functions[route.function] for route in api_routes.ROUTES},
            jwt_issuer=config.jwt_issuer,
            jwt_audience=config.jwt_audience,
            cors_origins=config.cors_origins,
            throttle_rate=config.api_throttle_rate,
            throttle_burst=config.api_throttle_burst,
            log_retention=log_retention(config.log_retention_days),
            retain_logs=config.retain_stateful,
        )
        for function in self.functions.functions.values():
            # The One-Shot callback address is built from it; every function gets the same settings.
            function.add_environment(env_names.API_BASE_URL, self.api.url)

        self._grant()
        self._trigger()
        self.schedules = Schedules(
            self,
            "Schedules",
            reconciler=self.functions["reconciler"],
            housekeeper=self.functions["housekeeper"],
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            stage=config.stage,
            alarm_email=config.alarm_email,
            functions=self.functions.functions,
            queues={"zapsign": self.queues.zapsign, "oneshot": self.queues.oneshot},
            http_api=self.api.http_api,
        )
        self._outputs()

    # -- wiring ---------------------------------------------------------------------------------------------------

    def _evidence_key(self) -> kms.Key:
        """The asymmetric KMS key that seals evidence packages (docs/evidence.md): ECDSA P-256, sign and verify only.
        Its private half never leaves KMS; retained with the stateful resources, since the packages it sealed are
        checked against its public key for as long as they are kept. (KMS rotates symmetric keys only.)"""
        return kms.Key(
            self,
            "EvidenceKey",
            description=f"SignBridge {self.config.stage}: seals the manifests of evidence packages",
            key_spec=kms.KeySpec.ECC_NIST_P256,
            key_usage=kms.KeyUsage.SIGN_VERIFY,
            alias=f"alias/signbridge-{self.config.stage}-evidence",
            removal_policy=RemovalPolicy.RETAIN if self.config.retain_stateful else RemovalPolicy.DESTROY,
        )

    def _environment(self) -> dict[str, str]:
        """Settings every function reads (signbridge.config.Settings): names and URLs, never a secret value."""
        config = self.config
        return {
            env_names.STAGE: config.stage,
            env_names.TABLE_NAME: self.storage.table.table_name,
            env_names.BUCKET_NAME: self.storage.bucket.bucket_name,
            env_names.ZAPSIGN_QUEUE_URL: self.queues.zapsign.queue.queue_url,
            env_names.ONESHOT_QUEUE_URL: self.queues.oneshot.queue.queue_url,
            env_names.ZAPSIGN_BASE_URL: config.zapsign_base_url,
            env_names.ZAPSIGN_FILE_HOSTS: ",".join(config.zapsign_file_hosts),
            env_names.ONESHOT_BASE_URL: config.oneshot_base_url,
            env_names.ONESHOT_ENV: config.oneshot_env,
            env_names.API_AUTH: "jwt" if config.uses_jwt else "iam",
            env_names.ZAPSIGN_SECRET_NAME: self.secrets.names[secrets.ZAPSIGN],
            env_names.WEBHOOK_SECRET_NAME: self.secrets.names[secrets.WEBHOOK],
            env_names.ONESHOT_SECRET_NAME: self.secrets.names[secrets.ONESHOT],
            env_names.EVIDENCE_KEY_ID: self.evidence_key.key_arn,
            env_names.TRUST_ANCHORS_KEY: config.trust_anchors_key,
            env_names.ACCEPT_INDETERMINATE: ",".join(config.accept_indeterminate),
            **({env_names.TSA_URL: config.tsa_url} if config.tsa_url else {}),
            env_names.SIGNER_PAGE_SECRET_NAME: self.secrets.names[secrets.SIGNER_PAGE],
            env_names.PAGE_LINK_TTL_SECONDS: str(config.page_link_ttl_seconds),
            env_names.PAGE_BRAND_NAME: config.page_brand_name,
            env_names.PAGE_BRAND_COLOR: config.page_brand_color,
            **({env_names.PAGE_BRAND_LOGO: config.page_brand_logo} if config.page_brand_logo else {}),
        }

    def _grant(self) -> None:
        """What each function uses, and nothing more (docs/infrastructure.md has the table)."""
        zapsign_queue = self.queues.zapsign.queue
        oneshot_queue = self.queues.oneshot.queue
        fn = self.functions

        # S3: exactly what infra.file_access declares for each function (object actions per prefix, listings).
        for name in fn.functions:
            self._files(fn[name], name)

        # api: records requests, lists them (indexes), enqueues steps, signs at One-Shot on OTP submit.
        self._table(fn["api"])
        self._send(fn["api"], zapsign_queue, oneshot_queue)
        self.secrets.oneshot.grant_read(fn["api"])
        # api: makes the signing-page links (on create, and in GET /v1/requests/{id}) with the page key.
        self.secrets.signer_page.grant_read(fn["api"])

        # signer_page: reads and records the signer's request, enqueues an SMS resend, signs at One-Shot on a code.
        # It never reads the page key: it compares the token's hash with the one stored on the signer.
        self._table(fn["signer_page"])
        self._send(fn["signer_page"], oneshot_queue)
        self.secrets.oneshot.grant_read(fn["signer_page"])

        # Webhooks: store the raw body, enqueue. The two AWS calls of the acknowledgement path, plus the secret.
        self._send(fn["zapsign_webhook"], zapsign_queue)
        self.secrets.webhook.grant_read(fn["zapsign_webhook"])
        self._send(fn["oneshot_webhook"], oneshot_queue)
        self.secrets.webhook.grant_read(fn["oneshot_webhook"])

        # intake: validates an upload in incoming/, moves it to originals/, submits the request (first step).
        self._table(fn["intake"])
        self._send(fn["intake"], zapsign_queue, oneshot_queue)

        # worker: every provider call; enqueues the next step (a zapsign_oneshot request moves from one queue to the
        # other). Consuming both queues (with ChangeMessageVisibility, for its backoff) is granted by the event source
        # mappings; sending to their dead-letter queues sets a message that can never run aside at once.
        self._table(fn["worker"])
        self._send(fn["worker"], zapsign_queue, oneshot_queue)
        self._send(fn["worker"], *(work_queue.dead_letter_queue for work_queue in self.queues.all))
        self.secrets.zapsign.grant_read(fn["worker"])
        self.secrets.oneshot.grant_read(fn["worker"])
        # ... and seals evidence packages: signs the manifest's digest with the evidence key, and reads its public key
        # for the package's seal.json. Nothing else may use the key (the operator's CLI reads the public key with the
        # operator's own credentials).
        _role(fn["worker"]).add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:Sign", "kms:GetPublicKey"], resources=[self.evidence_key.key_arn])
        )
        # The One-Shot create sends the callback address, `POST /webhooks/oneshot/{secret}`: the current One-Shot
        # webhook secret is part of it (docs/providers/oneshot.md §6.2).
        self.secrets.webhook.grant_read(fn["worker"])

        # reconciler: queries the status index, records what it re-enqueued; the worker re-reads the providers.
        self._table(fn["reconciler"])
        self._send(fn["reconciler"], zapsign_queue, oneshot_queue)

        # housekeeper: expires requests, enqueues Optimizer clean-up and cancellations, removes abandoned uploads, and
        # drops the dead letters of finished requests (reads and deletes on the dead-letter queues only; it finds them
        # from the work queues' redrive policy, GetQueueAttributes, granted with the sends).
        self._table(fn["housekeeper"])
        self._send(fn["housekeeper"], zapsign_queue, oneshot_queue)
        for work_queue in self.queues.all:
            work_queue.dead_letter_queue.grant_consume_messages(fn["housekeeper"])

    def _trigger(self) -> None:
        """S3 ObjectCreated under incoming/ -> intake (a Custom::S3BucketNotifications resource)."""
        self.storage.bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.LambdaDestination(self.functions["intake"]),
            s3.NotificationKeyFilter(prefix=keys.INCOMING_PREFIX),
        )
        # CDK's singleton function that applies bucket notifications (it exists once per stack).
        handler = self.node.find_child("BucketNotificationsHandler050a0587b7544547bf325f094a3db834")
        acknowledge(
            handler,
            "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "CDK's own bucket-notification handler (runs at deploy time only) is created with the basic "
            "execution managed policy; CDK offers no way to give it a custom role.",
        )

    def _outputs(self) -> None:
        outputs = {
            "ApiUrl": (self.api.url, "Base URL of the HTTP API (ends with /)"),
            "ZapSignWebhookUrl": (f"{self.api.url}{ZAPSIGN_WEBHOOK_PATH}", "Register this URL at ZapSign"),
            "BucketName": (self.storage.bucket.bucket_name, "File bucket"),
            "TableName": (self.storage.table.table_name, "State table"),
            "ZapSignQueueUrl": (self.queues.zapsign.queue.queue_url, "ZapSign work queue"),
            "OneShotQueueUrl": (self.queues.oneshot.queue.queue_url, "One-Shot work queue"),
            "ZapSignDeadLetterQueueUrl": (self.queues.zapsign.dead_letter_queue.queue_url, "ZapSign DLQ"),
            "OneShotDeadLetterQueueUrl": (self.queues.oneshot.dead_letter_queue.queue_url, "One-Shot DLQ"),
            "ZapSignSecretName": (self.secrets.names[secrets.ZAPSIGN], "Secret: ZapSign API token"),
            "WebhookSecretName": (self.secrets.names[secrets.WEBHOOK], "Secret: webhook secrets"),
            "OneShotSecretName": (self.secrets.names[secrets.ONESHOT], "Secret: One-Shot RAO and billing credentials"),
            "SignerPageSecretName": (self.secrets.names[secrets.SIGNER_PAGE], "Secret: signing-page link key"),
            "DashboardName": (self.monitoring.dashboard.dashboard_name, "CloudWatch dashboard"),
            "EvidenceKeyArn": (
                self.evidence_key.key_arn,
                "KMS key that seals evidence packages: pin its public key (aws kms get-public-key) to verify them",
            ),
            "EvidenceKeyAlias": (f"alias/signbridge-{self.config.stage}-evidence", "Alias of the evidence key"),
        }
        for key, (value, description) in outputs.items():
            CfnOutput(self, key, value=value, description=description)

    # -- grant helpers --------------------------------------------------------------------------------------------

    def _table(self, function: lambda_.Function) -> None:
        """Read and conditional writes: every function that touches the table records a transition."""
        self.storage.table.grant_read_write_data(function)
        acknowledge(
            _role(function),
            f"IAM5[Resource::<{storage.TABLE_ID}.Arn>/index/*]",
            "Queries on the table's global secondary indexes (by-status, by-external-id); both are SignBridge's "
            "own indexes of this one table.",
        )

    def _files(self, function: lambda_.Function, name: str) -> None:
        """One statement per set of object actions (over the prefixes that need that set), plus the listings."""
        by_actions: dict[frozenset[str], list[str]] = {}
        for prefix, actions in sorted(file_access.object_grants(name).items()):
            by_actions.setdefault(actions, []).append(prefix)
        for actions, prefixes in by_actions.items():
            self._objects(function, sorted(actions), prefixes)
        for prefix in sorted(file_access.listed_prefixes(name)):
            self._list(function, prefix)

    def _objects(self, function: lambda_.Function, actions: Iterable[str], prefixes: Iterable[str]) -> None:
        bucket = self.storage.bucket
        prefixes = tuple(prefixes)
        _role(function).add_to_principal_policy(
            iam.PolicyStatement(
                actions=list(actions),
                resources=[bucket.arn_for_objects(f"{prefix}*") for prefix in prefixes],
            )
        )
        for prefix in prefixes:
            acknowledge(
                _role(function),
                f"IAM5[Resource::<{storage.BUCKET_ID}.Arn>/{prefix}*]",
                f"Object actions limited to the '{prefix}' prefix of SignBridge's bucket; object keys are per "
                "request, so a prefix wildcard is the narrowest scope.",
            )

    def _list(self, function: lambda_.Function, prefix: str) -> None:
        _role(function).add_to_principal_policy(
            iam.PolicyStatement(
                actions=[file_access.LIST_ACTION],
                resources=[self.storage.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
            )
        )

    @staticmethod
    def _send(function: lambda_.Function, *queues: sqs.IQueue) -> None:
        for queue in queues:
            queue.grant_send_messages(function)


def _role(function: lambda_.Function) -> iam.IRole:
    assert function.role is not None
    return function.role


def build_app(context: Mapping[str, Any] | None = None, *, outdir: str | None = None) -> App:
    """The CDK app: cdk.json's context (or `context`), one stack for the configured stage, cdk-nag as a plugin.

    `context` replaces cdk.json's block entirely (tests pass cdk.json's block plus their overrides); the CDK CLI's
    own context (`-c key=value`, cdk.context.json) still overrides either, because the App reads it last.
    """
    app = App(context=dict(load_cdk_json_context() if context is None else context), outdir=outdir)
    config = StageConfig.from_context(app.node.try_get_context)
    SignBridgeStack(app, config.stack_name, config=config)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app
