"""Property-based run of the generated OpenAPI spec against ``imgflow serve``: no 5xx, no schema violation."""

from __future__ import annotations

import json
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from api.app import SPEC as SPEC_INFO
from api.app import app
from imgflow_tools import tokens
from tests.support.served import LOCAL_KEY, Stack

ROUTES = {
    ("POST", "/uploads"),
    ("POST", "/images"),
    ("GET", "/images"),
    ("GET", "/images/{image_id}"),
    ("PATCH", "/images/{image_id}"),
    ("DELETE", "/images/{image_id}"),
    ("POST", "/images/{image_id}/reprocess"),
    ("GET", "/images/{image_id}/status"),
    ("GET", "/images/{image_id}/runs"),
    ("GET", "/images/{image_id}/similar"),
    ("GET", "/workflow"),
}


#: The spec as the API generates it (loaded at import: schemathesis' lazy fixture loader fails on pytest 9);
#: the first test checks that the running server serves exactly this.
SPEC = json.loads(app.get_openapi_json_schema(**SPEC_INFO))
#: Schema-valid yet refused on purpose: a forged cursor (400), reprocess of an image never uploaded (409),
#: a declared size above the configured maximum (413).
ACCEPTED = ["2xx", "400", "401", "404", "409", "413"]
CHECKS = {"positive_data_acceptance": {"expected-statuses": ACCEPTED}}
CONFIG = SchemathesisConfig.from_dict({"checks": CHECKS})
schema = schemathesis.openapi.from_dict(SPEC, config=CONFIG)


@schema.auth()
class LocalBearer:
    """Schemathesis applies the token itself, so its missing-auth cases stay missing-auth."""

    def get(self, case: Any, ctx: Any) -> str:
        return tokens.issue("fuzzer", key=LOCAL_KEY)

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def test_spec_describes_every_route(stack: Stack) -> None:
    spec = requests.get(f"{stack.api}/openapi.json", timeout=10).json()
    assert spec == SPEC
    described = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    assert described == ROUTES
    assert "bearer" in spec["components"]["securitySchemes"]
    swagger = requests.get(f"{stack.api}/swagger", timeout=10)
    assert swagger.status_code == 200 and "swagger-ui" in swagger.text.lower()


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_spec(case: Any, stack: Stack) -> None:
    case.call_and_validate(base_url=stack.api)
