"""Sign-in links that cannot be abused: a one-time code, gone from the address once used; a link for
someone else asks first; a token in the address is never taken (locally, and never in the Cognito mode)."""

from __future__ import annotations

import json

import jwt
import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from tests.browser.support import DESKTOP, Reports, Serve

pytestmark = pytest.mark.slow
SESSION = "() => JSON.parse(localStorage.getItem('imgflow.session') || 'null')"


def signed_in(page: Page, user: str) -> None:
    expect(page.locator("#who")).to_have_text(f"Signed in as {user}")
    expect(page.locator("#gallery-view")).to_be_visible()


def forged(user: str) -> str:
    """A well-formed token for ``user``, valid for an hour, signed with a key that is not the server's."""
    now = 1_700_000_000
    claims = {"sub": user, "iss": "imgflow-local", "aud": "imgflow", "iat": now, "exp": 4_000_000_000}
    return jwt.encode(claims, "not the key" * 4, algorithm="HS256")


def test_a_link_signs_in_once_and_leaves_no_secret(serve: Serve, browser: Browser) -> None:
    link = serve.link("ann")
    code = link.split("#code=")[1]
    context = browser.new_context(viewport=DESKTOP)
    reports = Reports(context)
    page = context.new_page()
    page.goto(link)
    signed_in(page, "ann")
    # Neither the address bar nor this tab's history holds the code.
    assert code not in page.url and code not in page.evaluate("() => location.href")
    assert code not in json.dumps(page.evaluate(SESSION))
    reports.assert_clean(page, "signed in by a link")
    page.go_back()  # the entry before is the empty tab's, and the link's own was replaced
    assert code not in page.url
    page.go_forward()
    signed_in(page, "ann")
    assert code not in page.url
    # What the browser's history kept is worthless: the code was used.
    again = requests.post(f"{serve.api}/sign-in", json={"code": code}, timeout=10)
    assert again.status_code == 400 and "token" not in again.json()
    other = browser.new_context(viewport=DESKTOP)
    page2 = other.new_page()
    page2.goto(link)
    expect(page2.locator("#notice")).to_contain_text("This sign-in link did not work")
    expect(page2.locator("#notice")).to_have_class("notice error")
    expect(page2.locator("#signin")).to_be_visible()
    assert page2.evaluate(SESSION) is None and code not in page2.url
    other.close()
    context.close()


def test_the_exchange_refuses_what_it_did_not_make(serve: Serve) -> None:
    for body in ({"code": "made-up"}, {"code": ""}, {"nothing": 1}, ["x"]):
        answer = requests.post(f"{serve.api}/sign-in", json=body, timeout=10)
        assert answer.status_code == 400, body
    no_token = requests.post(f"{serve.api}/sign-in/links", timeout=10)
    assert no_token.status_code == 401
    bad = requests.post(
        f"{serve.api}/sign-in/links", headers={"Authorization": f"Bearer {forged('local')}"}, timeout=10
    )
    assert bad.status_code == 401


def test_a_link_for_someone_else_asks_first(serve: Serve, browser: Browser) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(serve.link("cat"))
    signed_in(page, "cat")
    # A link for dan, opened while cat is signed in: asked, declined, still cat.
    tab = context.new_page()
    tab.goto(serve.link("dan"))
    dialog = tab.locator("#confirm")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("“dan”")
    expect(dialog).to_contain_text("“cat”")
    tab.get_by_role("button", name="Cancel").click()
    signed_in(tab, "cat")
    assert tab.evaluate(SESSION)["user"] == "cat"
    # Opened again (a new link) in the open tab, and accepted: dan.
    tab.goto(serve.link("dan"))
    expect(dialog).to_be_visible()
    tab.get_by_role("button", name="Switch to dan").click()
    signed_in(tab, "dan")
    assert tab.evaluate(SESSION)["user"] == "dan"
    # A link for the one signed in does not ask.
    tab.goto(serve.link("dan"))
    signed_in(tab, "dan")
    expect(dialog).to_be_hidden()
    context.close()


def test_a_token_in_the_address_is_never_taken(serve: Serve, browser: Browser) -> None:
    base = serve.web.split("#")[0]
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    # Signed out: a forged token and even a valid one are refused, and taken out of the address.
    for token in (forged("mallory"), serve.token_for("mallory")):
        page.goto(f"{base}#token={token}")
        expect(page.locator("#signin")).to_be_visible()
        expect(page.locator("#notice")).to_contain_text("not accepted")
        assert page.evaluate(SESSION) is None and token not in page.url
        page.goto("about:blank")
    # Signed in: the session stays as it was.
    page.goto(serve.link("eve"))
    signed_in(page, "eve")
    before = page.evaluate(SESSION)
    tab = context.new_page()
    tab.goto(f"{base}#token={forged('mallory')}")
    signed_in(tab, "eve")
    assert tab.evaluate(SESSION) == before and "token" not in tab.url
    context.close()


def test_cognito_mode_takes_tokens_only_from_its_code_exchange(serve: Serve, browser: Browser) -> None:
    base = serve.web.split("#")[0]
    config = {
        "api": serve.api,
        "auth": {
            "type": "cognito",
            "domain": "https://auth.invalid",
            "client_id": "client",
            "redirect_uri": base,
        },
        "max_bytes": 1024,
        "content_types": ["image/jpeg"],
    }
    context = browser.new_context(viewport=DESKTOP)
    context.route("**/config.json", lambda route: route.fulfill(json=config))
    page = context.new_page()
    link = serve.link("fay")  # neither a local link's code ...
    for address in (link, f"{base}#token={serve.token_for('fay')}", f"{base}#access_token={forged('fay')}"):
        page.goto(address)  # ... nor a token in the fragment signs in
        expect(page.locator("#signin-button")).to_be_visible()
        assert page.evaluate(SESSION) is None
        assert "token" not in page.url and "code" not in page.url
        page.goto("about:blank")
    # The local link's code was not even sent anywhere: it still works where it belongs.
    assert requests.post(f"{serve.api}/sign-in", json={"code": link.split("#code=")[1]}, timeout=10).ok
    context.close()
