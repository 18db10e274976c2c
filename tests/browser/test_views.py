"""Every view, on a desktop and a phone, under the page's own CSP: nothing blocked, nothing logged, no stale
data, words that say what happened, and a workflow graph whose edges go around the boxes and that fits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from imgflow.workflow import asl_graph
from tests.browser.support import (
    DESKTOP,
    FINAL_TIMEOUT,
    PHONE,
    Reports,
    Serve,
    broken_jpeg,
    camera_jpeg,
    graph_geometry,
)

WORKFLOW = asl_graph.workflow_graph()

pytestmark = pytest.mark.slow
USER = "views"
SIZES = {"desktop": DESKTOP, "phone": PHONE}
MISSING = "00000000000000000000000000"
BAD = "rgb(179, 38, 30)"  # --bad
OK = "rgb(26, 127, 55)"  # --ok


@pytest.fixture(scope="module")
def images(serve: Serve, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("views")
    photo = serve.upload(USER, camera_jpeg(folder / "harbour.jpg", model="Canon EOS R6"))
    rejected = serve.upload(USER, broken_jpeg(folder / "broken.jpg"))
    assert (photo["status"], rejected["status"]) == ("PROCESSED", "REJECTED")
    serve.session(USER).patch(
        f"{serve.api}/images/{photo['id']}",
        json={"tags": ["harbour"], "description": "A harbour."},
        timeout=10,
    ).raise_for_status()
    return {"photo": photo, "rejected": rejected}


def context_for(browser: Browser, size: str) -> Any:
    if size == "phone":
        return browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    return browser.new_context(viewport=DESKTOP)


def sign_in(page: Page, serve: Serve) -> None:
    page.goto(serve.link(USER))
    expect(page.locator("#who")).to_have_text(f"Signed in as {USER}")


def open_detail(page: Page, image_id: str) -> None:
    page.goto(page.url.split("#")[0] + f"#/image/{image_id}")
    expect(page.locator("#runs details.run").first).to_be_visible(timeout=FINAL_TIMEOUT)
    expect(page.locator("#runs svg.graph").first).to_be_visible()


def bars(page: Page) -> list[float]:
    """The drawn width (px) of each duration bar of the open run's timeline."""
    return list(
        page.eval_on_selector_all(
            "#runs details.run[open] .track .bar", "els => els.map(e => e.getBoundingClientRect().width)"
        )
    )


@pytest.mark.parametrize("size", SIZES)
def test_every_view_is_csp_clean(
    serve: Serve, browser: Browser, images: dict[str, Any], files_dir: Path, artifacts: Path, size: str
) -> None:
    context = context_for(browser, size)
    reports = Reports(context)  # no bypass_csp: the page's own policy applies
    page = context.new_page()
    sign_in(page, serve)

    # Gallery.
    expect(page.locator("#gallery li.card", has_text="broken.jpg")).to_be_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#gallery img')].some(i => i.naturalWidth > 0)"
    )
    page.screenshot(path=str(artifacts / f"10-gallery-{size}.png"), full_page=True)
    reports.assert_clean(page, "gallery")

    # Upload through the page (progress, live status), then its result in the list.
    page.set_input_files("#files", [str(files_dir / "upload.jpg")])
    expect(page.locator("#uploads li").first).to_have_attribute(
        "data-status", "PROCESSED", timeout=FINAL_TIMEOUT
    )
    page.screenshot(path=str(artifacts / f"11-upload-{size}.png"), full_page=True)
    reports.assert_clean(page, "upload")

    # Detail of the photo: runs with their timeline bars drawn (the CSP used to block them) and the graph.
    open_detail(page, images["photo"]["id"])
    widths = bars(page)
    assert widths and all(w >= 1 for w in widths), widths
    page.screenshot(path=str(artifacts / f"12-detail-{size}.png"), full_page=True)
    reports.assert_clean(page, "detail")

    # Detail of the rejected image.
    open_detail(page, images["rejected"]["id"])
    assert all(w >= 1 for w in bars(page))
    page.screenshot(path=str(artifacts / f"13-rejected-{size}.png"), full_page=True)
    reports.assert_clean(page, "rejected detail")

    # Not found: the one 404 it asks for is the only console error.
    reports.expected.append(("404", f"/images/{MISSING}"))
    page.goto(page.url.split("#")[0] + f"#/image/{MISSING}")
    expect(page.locator("#detail-title")).to_have_text("Image not found")
    page.screenshot(path=str(artifacts / f"14-not-found-{size}.png"), full_page=True)
    reports.assert_clean(page, "not found")
    context.close()


def test_the_csp_check_sees_an_inline_style(serve: Serve, browser: Browser) -> None:
    """The recorder catches what the timeline bars used to do (a style attribute), and allows the CSSOM."""
    context = browser.new_context(viewport=DESKTOP)
    reports = Reports(context)
    page = context.new_page()
    sign_in(page, serve)
    page.evaluate("() => { document.querySelector('#who').style.width = '10px'; }")  # CSSOM: allowed
    page.wait_for_timeout(100)
    assert reports.violations(page) == []
    page.evaluate("() => document.querySelector('#who').setAttribute('style', 'width: 10px')")
    page.wait_for_function("() => window.__violations.length > 0")
    assert "style-src" in reports.violations(page)[0]
    context.close()


@pytest.mark.parametrize("size", SIZES)
def test_graph_edges_go_around_boxes_and_it_fits(
    serve: Serve, browser: Browser, images: dict[str, Any], size: str
) -> None:
    context = context_for(browser, size)
    page = context.new_page()
    sign_in(page, serve)
    for image in images.values():
        open_detail(page, image["id"])
        (graph,) = graph_geometry(page)  # the open run's
        # Every state a box, every transition an edge (and the start's and the end's two arrows).
        assert (graph["boxes"], graph["edges"]) == (len(WORKFLOW["states"]), len(WORKFLOW["edges"]) + 2), (
            graph
        )
        assert graph["crossings"] == [], graph["crossings"]
        assert graph["loose_ends"] == [], graph["loose_ends"]
        width = page.viewport_size["width"] if page.viewport_size else 0
        assert graph["left"] >= 0 and graph["right"] <= width, graph
        legend = graph["legend"]
        assert legend["height"] > 0 and legend["left"] >= 0 and legend["right"] <= width, legend
        expect(page.locator("#runs details.run[open] .legend")).to_be_visible()
        if size == "desktop":
            assert graph["scale"] == pytest.approx(1), graph  # natural size where there is room
    assert page.evaluate("() => document.documentElement.scrollWidth") <= page.viewport_size["width"]
    context.close()


def _photo_detail(serve: Serve, browser: Browser, images: dict[str, Any]) -> tuple[Any, Page]:
    """A desktop context, signed in, on the photo's detail."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, serve)
    open_detail(page, images["photo"]["id"])
    return context, page


def test_views_show_only_their_own_data(serve: Serve, browser: Browser, images: dict[str, Any]) -> None:
    context, page = _photo_detail(serve, browser, images)
    expect(page.locator("#edit-tags")).to_have_value("harbour")
    expect(page.get_by_role("button", name="Delete…")).to_be_visible()

    # From a loaded image straight to a missing one: nothing of the first is left, and no action.
    page.goto(page.url.split("#")[0] + f"#/image/{MISSING}")
    expect(page.locator("#detail-title")).to_have_text("Image not found")
    status = page.locator("#detail-status")
    expect(status).to_contain_text("no image at this address")
    assert status.evaluate("e => getComputedStyle(e).color") == BAD  # an error, not a success
    for name in ("Save", "Reprocess", "Delete…"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    for hidden in ("#detail-facts", "#detail-figure", "#downloads", "#edit-tags", "#runs"):
        expect(page.locator(hidden)).to_be_hidden()
    assert "harbour" not in page.locator("#detail-view").inner_text()
    assert "Canon" not in page.locator("#detail-view").inner_text()

    # A slow answer for the image left behind never lands on the view shown now.
    held: list[Any] = []
    page.route(f"**/images/{images['photo']['id']}", lambda route: held.append(route))
    page.goto(page.url.split("#")[0] + f"#/image/{images['photo']['id']}")
    page.wait_for_function("() => document.querySelector('#detail-title').textContent === 'Loading…'")
    page.goto(page.url.split("#")[0] + f"#/image/{images['rejected']['id']}")
    expect(page.locator("#detail-title")).to_have_text("broken.jpg")
    for route in held:
        route.continue_()
    page.wait_for_timeout(500)
    expect(page.locator("#detail-title")).to_have_text("broken.jpg")
    expect(page.locator("#edit-tags")).to_have_value("")
    context.close()


def test_phone_detail_opens_at_its_top(serve: Serve, browser: Browser, images: dict[str, Any]) -> None:
    context = context_for(browser, "phone")
    page = context.new_page()
    sign_in(page, serve)
    card = page.locator("#gallery li.card", has_text="harbour.jpg")
    expect(card).to_be_visible()
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    card.locator("a").click()
    expect(page.locator("#detail-title")).to_have_text("harbour.jpg")
    expect(page.locator("#runs details.run").first).to_be_visible(timeout=FINAL_TIMEOUT)
    assert page.evaluate("() => window.scrollY") == 0
    expect(page.locator("a.back")).to_be_in_viewport()
    # "35 mm" on one line: its number and unit share a line box.
    exposure = page.locator("#detail-facts dd", has_text="ISO")
    lines = exposure.evaluate(
        """e => { const r = document.createRange(); const t = e.firstChild; const at = t.data.indexOf("35");
                  r.setStart(t, at); r.setEnd(t, at + 5); return r.getClientRects().length; }"""
    )
    assert lines == 1
    context.close()


def test_words_of_the_timeline(serve: Serve, browser: Browser, images: dict[str, Any]) -> None:
    context, page = _photo_detail(serve, browser, images)
    run = page.locator("#runs details.run[open]")
    expect(run.locator("thead th.span")).to_have_text("Timeline")
    strong = run.locator(":scope > summary strong")
    expect(strong).to_have_text("Processed")
    assert strong.evaluate("e => getComputedStyle(e).color") == OK
    assert "Canon Canon" not in page.locator("#detail-facts").inner_text()
    open_detail(page, images["rejected"]["id"])
    strong = page.locator("#runs details.run[open] > summary strong")
    expect(strong).to_contain_text("Rejected: ")
    assert strong.evaluate("e => getComputedStyle(e).color") == BAD
    expect(page.locator("#runs details.run[open] > summary")).not_to_contain_text("ended in")
    context.close()


@pytest.fixture(scope="module")
def files_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("view-files")
    camera_jpeg(folder / "upload.jpg")
    return folder
