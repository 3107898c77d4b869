"""The API's contract as a whole: its routes are the ones API Gateway has, its OpenAPI document describes them, and
every error, even an unexpected one, is a problem document."""

from __future__ import annotations

import json
import re

import pytest
from openapi_spec_validator import validate
from pydantic import ValidationError

from signbridge import __version__, api_routes, env_names
from signbridge.config import Settings, get_settings, reset_settings_cache
from signbridge.handlers import api
from signbridge.handlers.api import bodies as bodies_module
from signbridge.handlers.api import views
from signbridge.workflow import signature_requests as use_cases
from tests.support.api import ApiClient
from tests.support.events import load_event

API_ROUTES = {(route.method, route.path) for route in api_routes.ROUTES if route.function == api_routes.API}


def openapi_routes(document: dict[str, object]) -> set[tuple[str, str]]:
    paths = document["paths"]
    assert isinstance(paths, dict)
    return {(method.upper(), path) for path, operations in paths.items() for method in operations}


def test_the_resolver_serves_exactly_the_api_routes_of_the_route_table(api_client: ApiClient) -> None:
    # Given the routes API Gateway is configured with for the api function
    # When the resolver's routes are read back in API Gateway's syntax (`<name>` → `{name}`)
    registered = {
        (route.method, re.sub(r"<(\w+)>", r"{\1}", route.path))
        for route in (*api.app._static_routes, *api.app._dynamic_routes)
    }

    # Then they are the same routes (and the docs page only the local stack routes), and the OpenAPI document
    # describes exactly those
    docs = api_routes.LOCAL_DOCS_ROUTE
    assert docs not in api_routes.ROUTES
    assert registered == API_ROUTES | {(docs.method, docs.path)}
    document = api_client.request("GET", "/v1/openapi.json").body
    assert openapi_routes(document) == API_ROUTES


def test_the_openapi_document_is_valid_openapi_3_and_describes_the_bodies(
    api_client: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a deployment whose API is served at a known URL
    monkeypatch.setenv(env_names.API_BASE_URL, "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/")
    reset_settings_cache()

    # When a client fetches the OpenAPI document
    answer = api_client.request("GET", "/v1/openapi.json")

    # Then it is a valid OpenAPI 3 document for this API and version, served from that URL
    assert answer.status == 200
    assert answer.content_type.startswith("application/json")
    document = answer.body
    validate(document)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "SignBridge"
    assert document["info"]["version"] == __version__
    assert document["servers"] == [{"url": "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"}]
    # and it describes the create body, its answer and its errors, and the Idempotency-Key header
    create = document["paths"]["/v1/requests"]["post"]
    body_schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert body_schema["$ref"].endswith("/CreateRequestBody")
    assert create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith("/CreatedRequestView")
    assert create["responses"]["422"]["content"]["application/problem+json"]["schema"]["$ref"].endswith("/Problem")
    assert {"name": "idempotency-key", "in": "header"}.items() <= create["parameters"][0].items()
    schemas = document["components"]["schemas"]
    assert {"CreateRequestBody", "SignerInput", "DocumentInput", "SignatureAppearance", "RequestView"} <= set(schemas)
    assert schemas["CreateRequestBody"]["additionalProperties"] is False
    # and every route says how calls are authorized
    assert document["security"] == [{"sigv4": []}]
    assert "sigv4" in document["components"]["securitySchemes"]


@pytest.mark.parametrize(
    ("api_auth", "scheme_name", "scheme"),
    [
        (None, "sigv4", {"type": "apiKey", "in": "header", "name": "Authorization"}),
        ("iam", "sigv4", {"type": "apiKey", "in": "header", "name": "Authorization"}),
        ("jwt", "jwt", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}),
    ],
)
def test_the_document_declares_the_scheme_the_stage_authorises_with(
    api_client: ApiClient,
    monkeypatch: pytest.MonkeyPatch,
    api_auth: str | None,
    scheme_name: str,
    scheme: dict[str, str],
) -> None:
    # Given a stage whose API Gateway authorises with IAM (the default) or with a JWT authorizer (the stack sets
    # SIGNBRIDGE_API_AUTH from the stage's jwt_issuer / jwt_audience)
    if api_auth is not None:
        monkeypatch.setenv(env_names.API_AUTH, api_auth)
    reset_settings_cache()

    # When a client fetches the OpenAPI document and the docs page
    document = api_client.request("GET", "/v1/openapi.json").body
    page = api.docs_html("", get_settings().api_auth)

    # Then the document declares that one scheme, for every route, and nothing of the other
    validate(document)
    schemes = document["components"]["securitySchemes"]
    assert set(schemes) == {scheme_name}
    assert scheme.items() <= schemes[scheme_name].items()
    assert document["security"] == [{scheme_name: []}]
    assert all("security" not in operation for ops in document["paths"].values() for operation in ops.values())
    other = {"sigv4": "bearer", "jwt": "AWS4-HMAC-SHA256"}[scheme_name]
    assert other not in json.dumps(schemes)
    # and the docs page embeds the same document
    assert f'"{scheme_name}"' in page


def test_an_unknown_api_auth_setting_is_refused(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    # Given a typo in the stage's environment
    monkeypatch.setenv(env_names.API_AUTH, "cognito")
    reset_settings_cache()

    # Then the settings refuse it instead of documenting a scheme the API does not use
    with pytest.raises(ValidationError):
        get_settings()


def test_every_component_schema_is_referenced_and_every_body_has_an_example(api_client: ApiClient) -> None:
    # Given the OpenAPI document
    document = api_client.request("GET", "/v1/openapi.json").body
    schemas = document["components"]["schemas"]

    # Then every schema in components is referenced from the paths or from another referenced schema
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(document)))
    assert set(schemas) == refs
    # and every request and response body has an example its model accepts
    bodies = {
        name
        for operation in (op for ops in document["paths"].values() for op in ops.values())
        for holder in (operation.get("requestBody", {}), *operation["responses"].values())
        for name in re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(holder.get("content", {})))
    }
    models = {
        "CreateRequestBody": bodies_module.CreateRequestBody,
        "CancelRequestBody": bodies_module.CancelRequestBody,
        "SubmitOtpBody": bodies_module.SubmitOtpBody,
        "CreatedRequestView": views.CreatedRequestView,
        "RequestView": views.RequestView,
        "RequestList": views.RequestList,
        "Accepted": views.Accepted,
        "EvidencePackageView": views.EvidencePackageView,
        "Problem": views.Problem,
    }
    assert bodies == set(models)
    for name, model in models.items():
        examples = schemas[name]["examples"]
        assert examples, name
        for example in examples:
            model.model_validate(example)


def test_the_documented_headers_are_the_ones_the_api_sends(api_client: ApiClient) -> None:
    # Given the OpenAPI document
    paths = api_client.request("GET", "/v1/openapi.json").body["paths"]

    # Then a creation documents Location (always) and Idempotent-Replayed (on a replay), and Retry-After where sent
    created = paths["/v1/requests"]["post"]["responses"]["201"]["headers"]
    assert created["Location"]["required"] is True
    assert created["Idempotent-Replayed"]["required"] is False
    assert "Retry-After" in paths["/v1/requests"]["post"]["responses"]["409"]["headers"]
    signer = "/v1/requests/{request_id}/signers/{signer}/otp"
    assert "Retry-After" in paths[signer + "/resend"]["post"]["responses"]["429"]["headers"]
    assert "Retry-After" in paths[signer]["post"]["responses"]["503"]["headers"]


def test_the_docs_page_is_swagger_ui_over_the_document_with_no_outside_assets(api_client: ApiClient) -> None:
    # When a browser opens the docs page
    answer = api_client.request("GET", api_routes.LOCAL_DOCS_ROUTE.path)

    # Then it is Swagger UI, its script and style inlined (nothing loaded from another host), with the document
    assert answer.status == 200
    assert answer.content_type.startswith("text/html")
    page = answer.raw_body
    assert "SwaggerUIBundle" in page
    assert "<script src=" not in page
    assert "<link rel='stylesheet'" not in page
    assert '"/v1/requests/{request_id}/cancel"' in page


def test_an_unknown_route_is_a_404_problem(api_client: ApiClient) -> None:
    answer = api_client.request("GET", "/v1/nothing-here")

    assert answer.status == 404
    assert answer.content_type == "application/problem+json"
    assert answer.body["type"] == "https://signbridge.dev/problems/not-found"


def test_a_known_path_with_another_method_is_a_405_saying_which_are_allowed(api_client: ApiClient) -> None:
    answer = api_client.request("DELETE", "/v1/requests/{request_id}", path_parameters={"request_id": "abc"})

    assert answer.status == 405
    assert answer.body["type"] == "https://signbridge.dev/problems/method-not-allowed"
    assert answer.headers["allow"] == "GET"


def test_an_unexpected_error_is_a_generic_500_with_the_correlation_id_logged_without_its_message(
    api_client: ApiClient, monkeypatch: pytest.MonkeyPatch, captured_logs: list[str]
) -> None:
    # Given a failure nobody planned for, whose message quotes personal data
    signer = "Zulmira Quintanilha <zulmira.q@example.org>"

    def broken(*_: object, **__: object) -> None:
        raise ValueError(f"could not parse signer {signer}")

    monkeypatch.setattr(use_cases, "get_request", broken)

    # When a client reads a request
    answer = api_client.get("c" * 32)

    # Then the answer is a 500 problem that says nothing of the cause but gives the correlation id
    assert answer.status == 500
    assert answer.content_type == "application/problem+json"
    assert answer.body["type"] == "https://signbridge.dev/problems/internal-error"
    assert answer.body["correlation_id"]
    assert "Zulmira" not in answer.raw_body
    # and the log has the error's type and where it happened, with the correlation id, but not its message
    (line,) = [json.loads(line) for line in captured_logs if '"unhandled error"' in line]
    assert line["error_type"] == "ValueError"
    assert "broken" in line["traceback"]
    assert line["correlation_id"] == answer.body["correlation_id"]
    assert not any("Zulmira" in line or "zulmira.q@" in line for line in captured_logs)


@pytest.mark.parametrize(
    ("sample", "status"),
    [
        ("apigw/create_request_zapsign.json", 201),
        ("apigw/create_request_oneshot.json", 201),
        ("apigw/create_request_zapsign_oneshot.json", 201),
        ("apigw/create_request_upload.json", 201),
        ("apigw/list_requests.json", 200),
        ("apigw/get_request.json", 404),
        ("apigw/cancel_request.json", 404),
        ("apigw/upload_again.json", 404),
        ("apigw/openapi.json", 200),
    ],
)
def test_the_sample_events_are_answered_as_api_gateway_would_send_them(
    api_client: ApiClient, sample: str, status: int
) -> None:
    # Given a sample event of events/apigw/ exactly as stored (the request ids in them do not exist here)
    # When the handler gets it
    answer = api_client.call(load_event(sample))

    # Then it answers what that call deserves
    assert answer.status == status, answer.body
