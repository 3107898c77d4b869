"""The HTTP API serves exactly api_routes.ROUTES, with IAM (or JWT) on /v1 and no authorizer on /webhooks."""

from __future__ import annotations

import json

import pytest

from signbridge import api_routes, env_names

from .conftest import Synth, function_logical_id, ref

pytestmark = pytest.mark.infra


def _routes(synth: Synth) -> dict[str, dict]:
    return {
        route["Properties"]["RouteKey"]: route["Properties"]
        for route in synth.of_type("AWS::ApiGatewayV2::Route").values()
    }


def _function_of(synth: Synth, route: dict) -> str | None:
    target = route["Target"]["Fn::Join"][1][1]  # "integrations/" + Ref(integration)
    integration = synth.props(ref(target))
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["PayloadFormatVersion"] == "2.0"
    return ref(integration["IntegrationUri"])


def test_every_route_exists_with_its_function(synth: Synth) -> None:
    routes = _routes(synth)
    assert set(routes) == {f"{r.method} {r.path}" for r in api_routes.ROUTES}
    for route in api_routes.ROUTES:
        assert _function_of(synth, routes[f"{route.method} {route.path}"]) == function_logical_id(route.function)


def test_v1_routes_use_iam_and_webhooks_have_no_authorizer(synth: Synth) -> None:
    routes = _routes(synth)
    for route in api_routes.ROUTES:
        expected = "AWS_IAM" if route.authenticated else "NONE"
        assert routes[f"{route.method} {route.path}"]["AuthorizationType"] == expected, route
        assert route.authenticated == route.path.startswith("/v1/")


def test_jwt_authorizer_replaces_iam_when_issuer_and_audience_are_configured(full_synth: Synth) -> None:
    (authorizer,) = full_synth.of_type("AWS::ApiGatewayV2::Authorizer").values()
    props = authorizer["Properties"]
    assert props["AuthorizerType"] == "JWT"
    assert props["JwtConfiguration"] == {"Issuer": "https://auth.example.com/", "Audience": ["signbridge-api"]}
    assert props["IdentitySource"] == ["$request.header.Authorization"]
    routes = _routes(full_synth)
    for route in api_routes.ROUTES:
        props = routes[f"{route.method} {route.path}"]
        if route.authenticated:
            assert props["AuthorizationType"] == "JWT"
            assert "AuthorizerId" in props
        else:
            assert props["AuthorizationType"] == "NONE"


def test_the_api_function_is_told_which_scheme_its_routes_use(synth: Synth, full_synth: Synth) -> None:
    # The OpenAPI document the api function serves declares the scheme API Gateway applies (SIGNBRIDGE_API_AUTH).
    for template, expected in ((synth, "iam"), (full_synth, "jwt")):
        variables = template.props(function_logical_id(api_routes.API))["Environment"]["Variables"]
        assert variables[env_names.API_AUTH] == expected


def test_default_stage_throttles_and_writes_json_access_logs(synth: Synth) -> None:
    (stage,) = synth.of_type("AWS::ApiGatewayV2::Stage").values()
    props = stage["Properties"]
    assert props["StageName"] == "$default"
    assert props["AutoDeploy"] is True
    assert props["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert props["DefaultRouteSettings"]["ThrottlingBurstLimit"] > 0
    assert ref(props["AccessLogSettings"]["DestinationArn"]) == "ApiAccessLogGroup"
    fields = json.loads(props["AccessLogSettings"]["Format"])
    assert {"requestId", "routeKey", "status"} <= set(fields)
    # The One-Shot callback path carries its secret: the access log records the route template only.
    assert "$context.path" not in props["AccessLogSettings"]["Format"]


def test_cors_only_when_configured(synth: Synth, full_synth: Synth) -> None:
    assert "CorsConfiguration" not in synth.props("HttpApi")
    cors = full_synth.props("HttpApi")["CorsConfiguration"]
    assert cors["AllowOrigins"] == ["https://app.example.com"]
