"""The HTTP API: every route in `signbridge.api_routes.ROUTES`, payload format 2.0, one `$default` stage.

Authenticated routes (`/v1/...`) use IAM authorization (SigV4) by default, or a JWT authorizer when the stage is
configured with an issuer and an audience. Webhook routes have no authorizer: the providers cannot sign requests,
so the handlers check a shared secret (a header for ZapSign, a path segment for One-Shot) in constant time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import jsii
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.common import acknowledge, pascal_case, pin_logical_id
from signbridge import api_routes

# $context fields of HTTP APIs. Deliberately no `$context.path`: the One-Shot callback path carries its secret;
# `routeKey` names the route with the placeholder instead. No headers, no body, no identity beyond the caller ARN.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "requestTime": "$context.requestTime",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "responseLatency": "$context.responseLatency",
        "integrationStatus": "$context.integration.status",
        "integrationLatency": "$context.integration.latency",
        "integrationError": "$context.integration.error",
        "authorizerError": "$context.authorizer.error",
        "sourceIp": "$context.identity.sourceIp",
        "callerArn": "$context.identity.userArn",
    },
    separators=(",", ":"),
)

WEBHOOK_NO_AUTH_REASON = (
    "Provider webhooks cannot authenticate with IAM or JWT: ZapSign sends a configured secret header and the One-Shot "
    "Optimizer calls a URL carrying a secret; the handlers verify them in constant time and answer 401 otherwise."
)

SIGNER_PAGE_NO_AUTH_REASON = (
    "The One-Shot signing page is opened by a signer with a link, not by an IAM or JWT principal: the unguessable "
    "token in the path is the credential (its hash is compared with the one stored on the signer; docs/signer-page.md)."
)


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogs:
    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigateway.AccessLogFormat:
        return apigateway.AccessLogFormat.custom(ACCESS_LOG_FORMAT)


class Api(Construct):
    """`http_api`, `stage` (`$default`), `url` (ends with `/`) and `routes[(method, path)]`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage_name: str,
        handlers: Mapping[str, lambda_.IFunction],
        jwt_issuer: str | None,
        jwt_audience: tuple[str, ...],
        cors_origins: tuple[str, ...],
        throttle_rate: int,
        throttle_burst: int,
        log_retention: logs.RetentionDays,
        retain_logs: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        cors = (
            apigwv2.CorsPreflightOptions(
                allow_origins=list(cors_origins),
                allow_methods=[apigwv2.CorsHttpMethod.GET, apigwv2.CorsHttpMethod.POST],
                allow_headers=[
                    "authorization",
                    "content-type",
                    "idempotency-key",
                    "x-amz-date",
                    "x-amz-security-token",
                ],
                max_age=Duration.hours(1),
            )
            if cors_origins
            else None
        )
        self.http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            api_name=f"signbridge-{stage_name}",
            description=f"SignBridge {stage_name}",
            create_default_stage=False,
            cors_preflight=cors,
        )
        pin_logical_id(self.http_api, "HttpApi")

        access_logs = logs.LogGroup(
            self,
            "AccessLogGroup",
            retention=log_retention,
            removal_policy=RemovalPolicy.RETAIN if retain_logs else RemovalPolicy.DESTROY,
        )
        pin_logical_id(access_logs, "ApiAccessLogGroup")
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.http_api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=throttle_rate, burst_limit=throttle_burst),
            access_log_settings=_AccessLogs(access_logs),
        )
        pin_logical_id(self.stage, "HttpApiDefaultStage")

        if jwt_issuer and jwt_audience:
            authorizer: apigwv2.IHttpRouteAuthorizer = authorizers.HttpJwtAuthorizer(
                "JwtAuthorizer", jwt_issuer, jwt_audience=list(jwt_audience)
            )
        else:
            authorizer = authorizers.HttpIamAuthorizer()

        # One integration per function (payload format 2.0), shared by all of that function's routes.
        function_integrations = {
            name: integrations.HttpLambdaIntegration(
                f"{pascal_case(name)}Integration",
                handler,
                payload_format_version=apigwv2.PayloadFormatVersion.VERSION_2_0,
            )
            for name, handler in handlers.items()
        }
        self.routes: dict[tuple[str, str], apigwv2.HttpRoute] = {}
        for route in api_routes.ROUTES:
            created = self.http_api.add_routes(
                path=route.path,
                methods=[apigwv2.HttpMethod(route.method)],
                integration=function_integrations[route.function],
                authorizer=authorizer if route.authenticated else apigwv2.HttpNoneAuthorizer(),
            )
            (http_route,) = created
            if not route.authenticated:
                page = route.function == api_routes.SIGNER_PAGE
                acknowledge(http_route, "APIG4", SIGNER_PAGE_NO_AUTH_REASON if page else WEBHOOK_NO_AUTH_REASON)
            self.routes[(route.method, route.path)] = http_route

    @property
    def url(self) -> str:
        """`https://{api id}.execute-api.{region}.amazonaws.com/` (the `$default` stage serves at the root)."""
        return self.stage.url
