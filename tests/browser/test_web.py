"""The web page in a real browser against a real ``imgflow serve``: upload, watch, browse, inspect, delete."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from tests.browser.support import (
    DESKTOP,
    FINAL_TIMEOUT,
    PHONE,
    Serve,
    axe_violations,
    broken_jpeg,
    camera_jpeg,
)

pytestmark = pytest.mark.slow


def image_loaded(page: Page, selector: str) -> bool:
    return bool(page.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 0"))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("web-files")
    valid = camera_jpeg(folder / "harbour.jpg", model="Canon EOS R6")  # the make again, as Canon writes it
    broken = broken_jpeg(folder / "broken.jpg")
    notes = folder / "notes.txt"
    notes.write_text("not an image\n")
    return [valid, broken, notes]


def test_upload_watch_inspect_delete(
    serve: Serve, browser: Browser, files: list[Path], artifacts: Path
) -> None:
    context = browser.new_context(viewport=DESKTOP, bypass_csp=True)  # bypass: axe is injected inline
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    accepts: list[str] = []  # what the page's API calls ask for
    shown: dict[str, str] = {}  # image URL (no query) -> the Content-Type it came with
    page.on("request", lambda r: accepts.append(r.headers.get("accept", "")) if "/images" in r.url else None)
    page.on(
        "response",
        lambda r: (
            shown.__setitem__(r.url.split("?")[0], r.headers.get("content-type", ""))
            if r.request.resource_type == "image" and not r.url.startswith("data:")
            else None
        ),
    )
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {serve.token}"

    # A sign-in link signs in, and its code leaves the address bar.
    page.goto(serve.link())
    expect(page.get_by_role("heading", name="Upload images")).to_be_visible()
    expect(page.locator("#who")).to_have_text("Signed in as local")
    assert "code" not in page.url and "token" not in page.url

    # Three files through the file input: a photo, a broken JPEG, a text file (refused before upload).
    page.set_input_files("#files", [str(f) for f in files])
    uploads = page.locator("#uploads li")
    expect(uploads).to_have_count(3)
    refused = uploads.filter(has_text="notes.txt")
    expect(refused).to_contain_text("Not uploaded:")
    expect(refused).to_contain_text("is not an image type imgflow accepts")
    processed = uploads.filter(has_text="harbour.jpg")
    expect(processed).to_have_attribute("data-status", "PROCESSED", timeout=FINAL_TIMEOUT)
    expect(processed.locator(".state")).to_have_text("Processed")
    rejected = uploads.filter(has_text="broken.jpg")
    expect(rejected).to_have_attribute("data-status", "REJECTED", timeout=FINAL_TIMEOUT)
    reason = rejected.locator(".state").inner_text()
    # In words: a sentence, not only a code like "truncated".
    assert re.match(r"Rejected: \w+( \w+){2,}", reason), reason

    # The gallery: both images, newest first, the photo with its thumbnail loaded.
    cards = page.locator("#gallery li.card")
    expect(cards).to_have_count(2)
    photo_card = cards.filter(has_text="harbour.jpg")
    expect(photo_card.locator("img")).to_be_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#gallery img')].some(i => i.complete && i.naturalWidth > 0)"
    )
    expect(cards.filter(has_text="broken.jpg")).to_contain_text("Rejected:")
    page.screenshot(path=str(artifacts / "01-gallery-desktop.png"), full_page=True)
    assert axe_violations(page) == []

    # The detail view: metadata in words, a map link, the large rendition.
    photo_card.locator("a").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("harbour.jpg")
    facts = page.locator("#detail-facts")
    expect(facts).to_contain_text("640 \u00d7 480 px")
    expect(facts.locator("dd").nth(2)).to_have_text("Canon EOS R6")  # not "Canon Canon EOS R6"
    expect(facts).to_contain_text("RF35mm F1.8")
    # Numbers and their units never break apart (no-break spaces).
    expect(facts).to_contain_text("1/250 s · f/2.8 · ISO 200 · 35 mm")
    assert "1/250\u00a0s · f/2.8 · ISO\u00a0200 · 35\u00a0mm" in (facts.text_content() or "")
    expect(facts).to_contain_text("2024-05-01 12:30:00 (UTC+02:00)")
    assert "openstreetmap.org" in (facts.get_by_role("link").get_attribute("href") or "")
    page.wait_for_function(
        "() => { const i = document.querySelector('#detail-figure img'); "
        "return i && i.complete && i.naturalWidth > 0; }"
    )
    image_id = page.url.rsplit("/", 1)[1]
    # The best format the browser shows: the page names AVIF and WebP (Chromium decodes both), the API picks
    # WebP (the encoded alternate), and every rendition the page loaded came as WebP.
    assert accepts and all("image/webp" in a and "image/avif" in a for a in accepts), accepts
    renditions = {url: kind for url, kind in shown.items() if "/renditions/" in url or "rendition" in url}
    assert renditions and set(renditions.values()) == {"image/webp"}, shown

    # Edit the tags: saved through the API.
    page.fill("#edit-tags", "harbour, holiday 2024")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#edit-status")).to_have_text("Saved.")
    expect(page.locator("#edit-status")).to_have_class("saved")
    assert api.get(f"{serve.api}/images/{image_id}", timeout=10).json()["tags"] == ["harbour", "holiday 2024"]

    # The run: its timeline and the graph with the path taken.
    run = page.locator("#runs details.run").first
    expect(run).to_have_attribute("open", "")
    # The header names what the run made of the image, the execution's status beside it.
    expect(run.locator(":scope > summary strong")).to_have_text("Processed")
    expect(run.locator(":scope > summary .execution")).to_have_text("(execution succeeded)")
    timeline = run.locator("table.timeline")
    expect(timeline.locator("tbody tr").first).to_be_visible()
    for state in ("Validate", "Resize"):
        expect(timeline.locator("tbody th", has_text=state).first).to_be_visible()
    graph = run.locator("svg.graph")
    expect(graph).to_be_visible()
    assert graph.locator("g.node.visited").count() >= 4
    assert graph.locator("g.node.failed").count() == 0
    assert graph.locator("path.edge.taken").count() >= 3
    page.screenshot(path=str(artifacts / "02-detail-desktop.png"), full_page=True)
    assert axe_violations(page) == []

    # The rejected image: its run ends on the rejection path, highlighted.
    page.goto(serve.web.split("#")[0] + "#/")
    page.locator("#gallery li.card", has_text="broken.jpg").locator("a").click()
    expect(page.locator("#detail-status")).to_contain_text("Rejected:")
    rejected_run = page.locator("#runs details.run").first
    expect(rejected_run.locator(":scope > summary strong")).to_have_text(
        page.locator("#detail-status").inner_text()
    )
    expect(rejected_run.locator(":scope > summary strong")).to_have_class("rejected")
    expect(rejected_run.locator(":scope > summary .execution")).to_have_text("(execution succeeded)")
    expect(rejected_run.locator("svg.graph g.node.failed").first).to_be_visible()
    expect(rejected_run.locator("path.edge.catch.taken").first).to_be_attached()
    page.screenshot(path=str(artifacts / "03-rejected-desktop.png"), full_page=True)
    # Reprocess: a second run appears, rejected again for the same reason.
    page.get_by_role("button", name="Reprocess").click()
    expect(page.locator("#runs details.run")).to_have_count(2, timeout=FINAL_TIMEOUT)
    expect(page.locator("#detail-status")).to_contain_text("Rejected:")

    # Filter the gallery by the new tag.
    page.goto(serve.web.split("#")[0] + "#/")
    page.fill("#filters input[name=tag]", "holiday 2024")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#gallery li.card")).to_have_count(1)
    expect(page.locator("#gallery li.card")).to_contain_text("harbour.jpg")

    # Delete from the detail view (confirmed in a dialog): gone from the gallery and the API.
    page.locator("#gallery li.card a").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("harbour.jpg")
    page.get_by_role("button", name="Delete…").click()
    page.locator("#confirm-ok").click()
    expect(page.locator("#notice")).to_have_text("Deleted “harbour.jpg”.")
    expect(page.locator("#notice")).to_have_class("notice ok")  # a success, not a warning
    # Its upload is still listed, no longer as a link.
    deleted = page.locator("#uploads li", has_text="harbour.jpg")
    expect(deleted.locator(".state")).to_have_text("Deleted")
    expect(deleted.get_by_role("link")).to_have_count(0)
    page.get_by_role("button", name="Clear").click()
    expect(page.locator("#gallery li.card")).to_have_count(1)
    assert api.get(f"{serve.api}/images/{image_id}", timeout=10).status_code == 404
    assert errors == []
    context.close()


def test_phone_width(serve: Serve, browser: Browser, files: list[Path], artifacts: Path) -> None:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(serve.link())
    page.set_input_files("#files", [str(files[0])])
    upload = page.locator("#uploads li").first
    expect(upload).to_have_attribute("data-status", "PROCESSED", timeout=FINAL_TIMEOUT)
    # Nothing wider than the screen (no sideways scrolling of the page itself).
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(artifacts / "04-gallery-phone.png"), full_page=True)
    upload.get_by_role("link").click()
    expect(page.locator("#runs details.run").first).to_be_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(artifacts / "05-detail-phone.png"), full_page=True)
    context.close()


def test_files_chosen_while_the_page_signs_in_are_uploaded(
    serve: Serve, browser: Browser, files: list[Path]
) -> None:
    # Before the fix, the picker's change event came before the page's listener and the file was dropped.
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    held: list[Any] = []
    page.route("**/config.json", lambda route: held.append(route))  # the page waits for its configuration ...
    page.goto(serve.link(), wait_until="domcontentloaded")
    page.set_input_files("#files", [str(files[0])])  # ... while a file is chosen
    expect(page.locator("#uploads li")).to_have_count(0)
    for route in held:
        route.continue_()
    expect(page.locator("#uploads li").first).to_have_attribute(
        "data-status", "PROCESSED", timeout=FINAL_TIMEOUT
    )
    context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_file_already_there_is_not_uploaded_again(
    serve: Serve, browser: Browser, tmp_path: Path, artifacts: Path, viewport: dict[str, int]
) -> None:
    photo = camera_jpeg(tmp_path / "again.jpg", model="Pixel 8")
    user = f"twice-{viewport['width']}"
    first = serve.upload(user, photo)
    assert first["status"] == "PROCESSED"
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    posted: list[str] = []  # the page's POSTs of a file to S3
    page.on(
        "request", lambda r: posted.append(r.url) if r.method == "POST" and "/uploads" not in r.url else None
    )
    page.goto(serve.link(user))
    page.set_input_files("#files", [str(photo)])
    item = page.locator("#uploads li").first
    expect(item).to_have_attribute("data-status", "PROCESSED", timeout=FINAL_TIMEOUT)
    expect(item.locator(".state")).to_have_text(
        "Already in your images: the same file was not uploaded again"
    )
    expect(item.get_by_role("link")).to_have_attribute("href", f"#/image/{first['id']}")
    assert not [url for url in posted if "/sign-in" not in url], posted  # the file never left the page
    listed = serve.session(user).get(f"{serve.api}/images", timeout=10).json()["items"]
    assert [i["id"] for i in listed] == [first["id"]]
    page.screenshot(path=str(artifacts / f"14-already-there-{viewport['width']}.png"), full_page=True)
    context.close()


def test_keyboard_reaches_the_upload_and_a_card(serve: Serve, browser: Browser) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(serve.link())
    expect(page.locator("#gallery li.card").first).to_be_visible()
    seen = []
    for _ in range(25):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("() => document.activeElement.id || document.activeElement.tagName"))
    assert "files" in seen  # the file picker (its label is the visible button)
    assert "A" in seen
    context.close()


def test_the_gallery_paints_placeholders_before_thumbnails(
    serve: Serve, browser: Browser, tmp_path: Path, artifacts: Path
) -> None:
    from imgflow_tools.similar_set import scene

    photo = tmp_path / "meadow.jpg"
    scene(7).save(photo, "JPEG", quality=88)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(serve.web)
    page.set_input_files("#files", [str(photo)])
    expect(page.locator("#uploads li").first).to_have_attribute(
        "data-status", "PROCESSED", timeout=FINAL_TIMEOUT
    )
    page.close()

    page = context.new_page()
    held: list[Any] = []
    page.route(lambda url: "/thumb." in url, lambda route: held.append(route))  # thumbnails hang
    page.goto(serve.web)
    card = page.locator("#gallery li.card", has_text="meadow.jpg").first
    canvas = card.locator("canvas.thumbhash")
    expect(canvas).to_be_visible()
    for _ in range(100):  # the thumbnail is requested (lazily, once laid out) and held back
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the thumbnail was requested (and is held back)"
    assert not image_loaded(page, f"#gallery li.card[data-id='{card.get_attribute('data-id')}'] img")
    # The placeholder is a picture, not a flat box: its pixels vary, and it keeps the photo's aspect (4:3).
    painted = canvas.evaluate(
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                  const lum = []; for (let i = 0; i < d.length; i += 4) lum.push(d[i] + d[i+1] + d[i+2]);
                  const spread = Math.max(...lum) - Math.min(...lum);
                  return {w: c.width, h: c.height, spread, alpha: d[3]}; }"""
    )
    assert painted["spread"] > 30 and painted["alpha"] == 255
    assert abs(painted["w"] / painted["h"] - 4 / 3) < 0.25
    page.screenshot(path=str(artifacts / "06-gallery-placeholders.png"))
    for route in held:
        route.continue_()
    expect(card.locator(".thumb")).to_have_class(re.compile(r"\bloaded\b"))
    page.screenshot(path=str(artifacts / "07-gallery-thumbnails.png"))
    context.close()
