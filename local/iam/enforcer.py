"""Every AWS call a function makes on the local stack, checked against that function's role: `IamEnforcer`.

Why a botocore event hook and not moto's IAM access control. moto 5 can check IAM (`INITIAL_NO_AUTH_ACTION_COUNT`
and credentials of a moto user or assumed role), but
- the switch is process-wide: the stack's own clients, the pollers, the notification relay and the tests would all
  need IAM identities of their own, and moto counts every request of the process against the switch;
- the functions share boto3 clients (`signbridge.wiring.get_services` caches one set per settings value, and every
  function has the same settings), so per-function credentials would need a client per function in the runtime;
- moto's evaluation has gaps that matter here: it ignores `Condition` (the housekeeper's `s3:ListBucket` is
  conditioned on `s3:prefix`), does not map every call to IAM's action (HeadObject is `s3:GetObject`, a versioned
  delete `s3:DeleteObjectVersion`, a TransactWriteItems the action of each item) and not every service enforces it.
A botocore hook sees the operation and its parameters before anything is sent, knows on which function's behalf the
call is made (the invocation's `ContextVar`, `local.environ.current_function`), needs no credentials, and evaluates
with a small tested evaluator (`local.iam.policy`) and call→action mapping (`local.iam.actions`).

How a refusal looks: the hook answers the call itself with the error the service returns — S3 and SQS
`AccessDenied` (403; a HEAD request `403` / `Forbidden`, as S3 sends no body), DynamoDB, Secrets Manager and KMS
`AccessDeniedException` (400) — through botocore's `before-call` short circuit, so boto3 raises the same
`ClientError` (same code, same status, not retried) it raises on AWS, and nothing reaches moto.

Presigned links (`generate_presigned_url` / `generate_presigned_post`) are signed without a call, as on AWS; the
link's request would be refused by S3 when used. Locally the hook evaluates the action at signing time and records a
denial (`presign_denials`); the stack logs it as an error.

Calls made outside an invocation (the stack's provisioning, pollers, relay, tests) and calls from threads a handler
starts itself (they do not inherit the invocation's context) are not checked.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import botocore.handlers
from botocore.awsrequest import AWSResponse, HTTPHeaders

from local.iam.actions import Arns, authorizations
from local.iam.policy import AuthRequest, Decision, evaluate
from local.iam.roles import RolePermissions

logger = logging.getLogger("signbridge.local.iam")

_CONTEXT_KEY = "signbridge_local_iam_denial"
_POST_BUCKET_KEY = "signbridge_local_iam_post_bucket"
_MAX_CACHED_DECISIONS = 100_000


@dataclass(frozen=True)
class Denial:
    function: str
    service: str
    operation: str
    action: str
    resource: str
    decision: Decision
    presigned: bool = False

    def message(self, principal: str) -> str:
        why = (
            "with an explicit deny in an identity-based policy"
            if self.decision is Decision.EXPLICIT_DENY
            else f"because no identity-based policy allows the {self.action} action"
        )
        return f"User: {principal} is not authorized to perform: {self.action} on resource: {self.resource} {why}"


class IamEnforcer:
    """Checks the calls of each function against its role; `install()` hooks it into every boto3 client."""

    def __init__(
        self,
        permissions: Mapping[str, RolePermissions],
        arns: Arns,
        *,
        current_function: Callable[[], str | None],
        function_names: Mapping[str, str] | None = None,  # SignBridge name -> Lambda function name
    ) -> None:
        self.permissions = dict(permissions)
        self.arns = arns
        self._current_function = current_function
        self._function_names = dict(function_names or {})
        self._lock = threading.Lock()
        self.checked: Counter[str] = Counter()  # function -> calls checked
        self.denials: list[Denial] = []
        self.presign_denials: list[Denial] = []
        # The roles do not change while the stack runs: a decision is cached per function and request.
        self._decisions: dict[tuple[str, str, str, tuple[tuple[str, tuple[str, ...]], ...]], Decision] = {}

    # -- evaluation -----------------------------------------------------------------------------------------------

    def check(self, function: str, service: str, operation: str, params: Mapping[str, Any]) -> Denial | None:
        """The first authorisation the call needs that `function`'s role refuses, or None if it may make it."""
        role = self.permissions.get(function)
        statements = role.statements if role is not None else ()
        for request in authorizations(service, operation, params, self.arns):
            key = (function, request.action, request.resource, tuple(sorted(request.context.items())))
            decision = self._decisions.get(key)
            if decision is None:
                decision = evaluate(statements, request)
                if len(self._decisions) < _MAX_CACHED_DECISIONS:
                    self._decisions[key] = decision
            if not decision.allowed:
                return Denial(function, service, operation, request.action, request.resource, decision)
        return None

    def principal(self, function: str) -> str:
        role = self.permissions.get(function)
        role_name = role.role_arn.rsplit("/", 1)[-1] if role is not None and role.role_arn else function
        return (
            f"arn:{self.arns.partition}:sts::{self.arns.account_id}:assumed-role/{role_name}/"
            f"{self._function_names.get(function, function)}"
        )

    # -- botocore hooks -------------------------------------------------------------------------------------------

    def install(self) -> None:
        _set_active(self)

    def uninstall(self) -> None:
        _set_active(None, only_if=self)

    def before_parameter_build(self, params: Mapping[str, Any], model: Any, context: dict[str, Any]) -> None:
        function = self._current_function()
        if function is None:
            return
        service = iam_prefix(model.service_model)
        if context.get("is_presign_request") and service == "s3" and model.name == "CreateBucket":
            # `generate_presigned_post` builds its request from CreateBucket's model; the key comes with the fields,
            # at signing time (`before_sign`).
            context[_POST_BUCKET_KEY] = params.get("Bucket")
            return
        denial = self.check(function, service, model.name, params)
        with self._lock:
            self.checked[function] += 1
        if denial is None:
            return
        if context.get("is_presign_request"):
            self._presign_denied(denial)
            return
        context[_CONTEXT_KEY] = denial

    def before_sign(self, request: Any) -> None:
        """A presigned POST (an upload form): the role must allow `s3:PutObject` on the form's key."""
        fields = request.context.get("s3-presign-post-fields")
        function = self._current_function()
        if not fields or function is None or _POST_BUCKET_KEY not in request.context:
            return
        params = {"Bucket": request.context[_POST_BUCKET_KEY], "Key": fields.get("key", "")}
        with self._lock:
            self.checked[function] += 1
        denial = self.check(function, "s3", "PutObject", params)
        if denial is not None:
            self._presign_denied(denial)

    def _presign_denied(self, denial: Denial) -> None:
        denial = Denial(**{**denial.__dict__, "presigned": True})
        with self._lock:
            self.presign_denials.append(denial)
        message = denial.message(self.principal(denial.function))
        logger.error("IAM: a link %s signs would be refused when used: %s", denial.function, message)

    def before_call(self, model: Any, context: Mapping[str, Any]) -> tuple[AWSResponse, dict[str, Any]] | None:
        denial = context.get(_CONTEXT_KEY)
        if not isinstance(denial, Denial):
            return None
        return denial_response(model, self._denied(denial))

    def _denied(self, denial: Denial) -> str:
        with self._lock:
            self.denials.append(denial)
        message = denial.message(self.principal(denial.function))
        logger.error("IAM: %s", message)
        return message

    # -- across processes (`local.lambda_process`: a function's own enforcer in its execution environment) ---------

    def take_decisions(self, function: str) -> tuple[int, list[Denial], list[Denial]]:
        """The calls of `function` checked and the denials since the last take, forgotten here."""
        with self._lock:
            checked = self.checked.pop(function, 0)
            denials, self.denials = self.denials, []
            presign, self.presign_denials = self.presign_denials, []
        return checked, denials, presign

    def record_decisions(self, function: str, checked: int, denials: list[Denial], presign: list[Denial]) -> None:
        """What a function's enforcer in another process decided, recorded (and logged) as if decided here."""
        with self._lock:
            self.checked[function] += checked
        for denial in denials:
            self._denied(denial)
        for denial in presign:
            self._presign_denied(denial)


def iam_prefix(service_model: Any) -> str:
    """The IAM service prefix of a botocore service model (its signing name: s3, dynamodb, sqs, …)."""
    return str(service_model.signing_name or service_model.endpoint_prefix)


def denial_response(model: Any, message: str) -> tuple[AWSResponse, dict[str, Any]]:
    """The answer the service gives to a call its caller may not make, as botocore would have parsed it."""
    service_model = model.service_model
    query_like = service_model.protocol in ("query", "ec2", "rest-xml") or "awsQueryCompatible" in (
        service_model.metadata or {}
    )
    code, status = ("AccessDenied", 403) if query_like else ("AccessDeniedException", 400)
    if model.http.get("method") == "HEAD":  # no body: botocore makes the code of the status
        code, message = str(status), "Forbidden"
    request_id = uuid.uuid4().hex.upper()[:16]
    headers = {"x-amzn-requestid": request_id, "content-type": "application/xml" if query_like else "application/json"}
    parsed = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {
            "RequestId": request_id,
            "HTTPStatusCode": status,
            "HTTPHeaders": headers,
            "RetryAttempts": 0,
        },
    }
    return AWSResponse(url="", status_code=status, headers=_headers(headers), raw=None), parsed


def _headers(values: Mapping[str, str]) -> HTTPHeaders:
    headers = HTTPHeaders()
    for name, value in values.items():
        headers[name] = value
    return headers


# -- the process-wide registration ------------------------------------------------------------------------------------
#
# botocore registers `BUILTIN_HANDLERS` on every session it creates (moto's own mock registers itself the same way),
# so every client made after this module is imported carries the hooks below; they do nothing while no enforcer is
# active. The registration stays for the process (a client keeps the handlers of its session).

_active: IamEnforcer | None = None
_active_lock = threading.Lock()
_registered = False


def _register() -> None:
    global _registered  # noqa: PLW0603 - one registration per process, by design
    with _active_lock:
        if not _registered:
            botocore.handlers.BUILTIN_HANDLERS.append(("before-parameter-build", _before_parameter_build))
            botocore.handlers.BUILTIN_HANDLERS.append(("before-call", _before_call))
            botocore.handlers.BUILTIN_HANDLERS.append(("before-sign.s3.PutObject", _before_sign))
            _registered = True


def _set_active(enforcer: IamEnforcer | None, *, only_if: IamEnforcer | None = None) -> None:
    global _active  # noqa: PLW0603 - one active enforcer per process (one LocalStack per process)
    _register()
    with _active_lock:
        if only_if is None or _active is only_if:
            _active = enforcer


def _before_parameter_build(params: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
    enforcer = _active
    if enforcer is not None:
        enforcer.before_parameter_build(params, model, context)


def _before_call(model: Any, context: Mapping[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
    enforcer = _active
    if enforcer is None:
        return None
    return enforcer.before_call(model, context)


def _before_sign(request: Any, **_: Any) -> None:
    enforcer = _active
    if enforcer is not None:
        enforcer.before_sign(request)


def active_enforcer() -> IamEnforcer | None:
    return _active


# Registered when the local stack is imported, so that sessions made from then on (and their clients, which a
# warm function keeps) carry the hooks even if they were made before the first stack started.
_register()


__all__ = ["AuthRequest", "Denial", "IamEnforcer", "active_enforcer", "denial_response", "iam_prefix"]
