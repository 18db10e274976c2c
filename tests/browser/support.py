"""Shared helpers of the browser tests: the running server, test files, what the page reported, geometry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from PIL import Image
from playwright.sync_api import BrowserContext, Page

from imgflow_tools import tokens
from tests.support.images import jpeg_bytes
from tests.support.paths import REPO
from tests.support.waiting import wait_image

ARTIFACTS = REPO / "test-artifacts" / "browser"
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
FINAL_TIMEOUT = 60_000
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@dataclass
class Serve:
    """A running ``imgflow serve``: its page, API, the printed token (user "local") and state folder."""

    web: str
    api: str
    token: str
    state: Path

    def token_for(self, user: str) -> str:
        return tokens.issue(user, key=tokens.local_key(self.state))

    def link(self, user: str = "local") -> str:
        """A new one-time sign-in link for ``user`` (``POST /sign-in/links`` with the user's token)."""
        answer = requests.post(
            f"{self.api}/sign-in/links",
            headers={"Authorization": f"Bearer {self.token_for(user)}"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["web"])

    def session(self, user: str) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token_for(user)}"
        return session

    def upload(self, user: str, path: Path, content_type: str = "image/jpeg") -> dict[str, Any]:
        """``path`` uploaded through its presigned POST as ``user``; the image record once final."""
        api = self.session(user)
        data = path.read_bytes()
        body = {"filename": path.name, "content_type": content_type, "size": len(data)}
        ticket = api.post(f"{self.api}/uploads", json=body, timeout=30)
        assert ticket.status_code == 201, ticket.text
        upload = ticket.json()["upload"]
        posted = requests.post(
            upload["url"], data=upload["fields"], files={"file": (path.name, data)}, timeout=30
        )
        assert posted.status_code in (200, 201, 204), posted.text
        image_id = ticket.json()["id"]
        return wait_image(api, f"{self.api}/images/{image_id}", timeout=FINAL_TIMEOUT / 1000, interval=0.3)


def camera_jpeg(path: Path, model: str = "EOS R6") -> Path:
    """A 640x480 JPEG with the EXIF a phone writes: camera, lens, exposure, time with offset, GPS."""
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = model
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2024:05:01 12:30:00"  # DateTimeOriginal
    sub[0x9011] = "+02:00"  # OffsetTimeOriginal
    sub[0x829A] = 0.004  # ExposureTime 1/250
    sub[0x829D] = 2.8
    sub[0x8827] = 200
    sub[0x920A] = 35.0
    sub[0xA434] = "RF35mm F1.8"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 51.0, 30.0)
    gps[3], gps[4] = "E", (2.0, 17.0, 40.0)
    path.write_bytes(jpeg_bytes((640, 480), exif=exif))
    return path


def broken_jpeg(path: Path) -> Path:
    """A JPEG cut short after its first segment: the workflow rejects it."""
    path.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00 not the rest of a JPEG" * 40)
    return path


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core (node_modules, injected; never a CDN): serious and critical violations of the page."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


#: Runs in every document before the page's own code: records each CSP violation the document reports.
_RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  const what = e.blockedURI || "inline";
  window.__violations.push(`${e.effectiveDirective} blocked ${what} at ${where} ${e.sample}`);
}, true);
"""


class Reports:
    """What a page reported: CSP violations (recorded in the page), console errors, uncaught exceptions.

    ``expected`` holds console errors a test brings about on purpose, as (text, URL part) pairs: Chromium
    logs every 4xx answer of a fetch as an error ("Failed to load resource ..."), e.g. a missing image's 404.
    """

    def __init__(self, context: BrowserContext) -> None:
        context.add_init_script(_RECORD_VIOLATIONS)
        self.console: list[str] = []
        self.expected: list[tuple[str, str]] = []
        self.pages: list[Page] = []
        context.on("page", self.watch)
        for page in context.pages:
            self.watch(page)

    def watch(self, page: Page) -> None:
        self.pages.append(page)

        def on_console(msg: Any) -> None:
            if msg.type != "error":
                return
            url = (msg.location or {}).get("url", "")
            if not any(text in msg.text and part in url for text, part in self.expected):
                self.console.append(f"{msg.text} ({url})")

        page.on("console", on_console)
        page.on("pageerror", lambda e: self.console.append(f"uncaught: {e}"))

    def violations(self, page: Page) -> list[str]:
        return list(page.evaluate("() => window.__violations || []"))

    def assert_clean(self, page: Page, view: str) -> None:
        assert self.violations(page) == [], f"{view}: CSP violations"
        assert self.console == [], f"{view}: console errors"


#: Every edge of every graph on the page, sampled along its rendered path, against every box but its own two.
_GRAPH_GEOMETRY = """
() => [...document.querySelectorAll("svg.graph")].filter((svg) => svg.getClientRects().length).map((svg) => {
  const boxes = [...svg.querySelectorAll("g.node")].map((g) => {
    const m = g.transform.baseVal.consolidate().matrix;
    const r = g.querySelector("rect");
    return { name: g.dataset.name, x: m.e, y: m.f, w: r.width.baseVal.value, h: r.height.baseVal.value };
  });
  const crossings = [];
  const ends = [];
  const edges = [...svg.querySelectorAll("path.edge")];
  for (const path of edges) {
    const length = path.getTotalLength();
    for (let at = 0; at <= length; at += 1) {
      const p = path.getPointAtLength(at);
      for (const b of boxes) {
        if (b.name === path.dataset.from || b.name === path.dataset.to) continue;
        if (p.x > b.x + 0.5 && p.x < b.x + b.w - 0.5 && p.y > b.y + 0.5 && p.y < b.y + b.h - 0.5) {
          crossings.push(`${path.dataset.from} -> ${path.dataset.to} crosses ${b.name}`);
          break;
        }
      }
    }
    // Each edge starts at its own source's box and ends at its target's (within 2 units of the border).
    const near = (p, name) => {
      const b = boxes.find((x) => x.name === name);
      return b && p.x >= b.x - 2 && p.x <= b.x + b.w + 2 && p.y >= b.y - 2 && p.y <= b.y + b.h + 2;
    };
    const [start, end] = [path.getPointAtLength(0), path.getPointAtLength(length)];
    if (!near(start, path.dataset.from) || !near(end, path.dataset.to)) {
      ends.push(`${path.dataset.from} -> ${path.dataset.to}`);
    }
  }
  const rect = svg.getBoundingClientRect();
  const legend = svg.parentElement.querySelector(".legend").getBoundingClientRect();
  return {
    boxes: boxes.length,
    edges: edges.length,
    crossings: [...new Set(crossings)],
    loose_ends: ends,
    left: rect.left,
    right: rect.right,
    legend: { left: legend.left, right: legend.right, width: legend.width, height: legend.height },
    scale: rect.width / svg.viewBox.baseVal.width,
  };
})
"""


def graph_geometry(page: Page) -> list[dict[str, Any]]:
    """For each visible workflow graph: boxes, edges, edges crossing a box, its extent and its legend's."""
    return list(page.evaluate(_GRAPH_GEOMETRY))
