"""The origin and Host rules of ``imgflow_tools.local.origin`` (the listeners' guard), without a server."""

from __future__ import annotations

from typing import Any

import pytest

from imgflow_tools.local.origin import OriginPolicy, configured_origins, normalize_origin, page_origins

PAGE = page_origins(8000)


def environ(host: str = "127.0.0.1:8000", method: str = "GET", **headers: str) -> dict[str, Any]:
    env = {"HTTP_HOST": host, "SERVER_PORT": "8000", "REQUEST_METHOD": method}
    env.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    return env


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://LocalHost:3000", "http://localhost:3000"),
        ("https://app.example:443/", "https://app.example"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_origins_are_normalized_as_browsers_send_them(value: str, expected: str) -> None:
    assert normalize_origin(value) == expected


@pytest.mark.parametrize(
    "value",
    ["*", "null", "http://*.example", "ftp://a", "http://a/path", "http://u@a", "a.example", "http://a:x"],
)
def test_what_is_not_one_origin_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        normalize_origin(value)


def test_configured_origins_come_from_flags_and_the_environment() -> None:
    env = {"IMGFLOW_ALLOWED_ORIGINS": "http://a.test:1, https://b.test  http://c.test:3"}
    assert configured_origins(["http://d.test:4"], env=env) == {
        "http://a.test:1",
        "https://b.test",
        "http://c.test:3",
        "http://d.test:4",
    }
    with pytest.raises(ValueError):
        configured_origins([], env={"IMGFLOW_ALLOWED_ORIGINS": "*"})


@pytest.mark.parametrize(
    ("host", "api", "endpoint"),
    [
        ("127.0.0.1:8000", True, True),
        ("localhost:8000", True, True),
        ("[::1]:8000", True, True),
        ("imgflow-uploads.localhost:8000", False, True),
        ("imgflow-uploads.s3.localhost:8000", False, True),
        ("evil.example:8000", False, False),
        ("localhost.evil.example:8000", False, False),
        ("127.0.0.1.nip.io:8000", False, False),
        ("127.0.0.1:8001", False, False),
        ("localhost", False, False),
        ("-bad.localhost:8000", False, False),
        ("", False, False),
    ],
)
def test_the_host_must_name_the_listener(host: str, api: bool, endpoint: bool) -> None:
    assert (OriginPolicy(PAGE).refusal(environ(host)) is None) is api
    assert (OriginPolicy(PAGE, bucket_subdomains=True).refusal(environ(host)) is None) is endpoint


def test_only_allowed_origins_pass_and_cors_names_the_allow_lists_entry() -> None:
    policy = OriginPolicy(PAGE | {"https://app.example"})
    assert policy.refusal(environ(origin="http://127.0.0.1:8000")) is None
    assert policy.refusal(environ(origin="HTTPS://APP.EXAMPLE:443")) is None
    assert policy.allowed_origin(environ(origin="HTTPS://APP.EXAMPLE:443")) == "https://app.example"
    for foreign in ("https://evil.example", "null", "http://127.0.0.1:9999", "http://127.0.0.1:8000/x"):
        assert policy.refusal(environ(origin=foreign)), foreign
        assert policy.allowed_origin(environ(origin=foreign)) is None


def test_cross_site_without_origin_is_refused_but_a_navigation_to_the_page() -> None:
    strict, page = OriginPolicy(PAGE), OriginPolicy(PAGE, navigations=True)
    no_cors = environ(sec_fetch_site="cross-site", sec_fetch_mode="no-cors")
    navigate = environ(sec_fetch_site="cross-site", sec_fetch_mode="navigate")
    assert strict.refusal(no_cors) and page.refusal(no_cors)
    assert strict.refusal(navigate) and page.refusal(navigate) is None
    assert page.refusal({**navigate, "REQUEST_METHOD": "POST"})
    assert strict.refusal(environ(sec_fetch_site="same-site")) is None
    # An allowed origin may be cross-site (a configured app on another host).
    assert (
        OriginPolicy(PAGE | {"https://app.example"}).refusal(
            environ(origin="https://app.example", sec_fetch_site="cross-site")
        )
        is None
    )
