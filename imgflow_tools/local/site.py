"""The web page on ``imgflow serve``'s root: the built files of ``web/`` and a ``config.json`` for them.

The files are public (like the CloudFront distribution in AWS); the page signs in with the token in the link
``imgflow serve`` prints (``/#token=...``: a fragment never reaches a server or a log).
"""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from imgflow.config import Settings
from imgflow.uploads import ALLOWED_CONTENT_TYPES

_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".html": "text/html"}


def page_config(settings: Settings) -> dict[str, Any]:
    """What the page needs to know (the deployed stack writes the same keys, with Cognito as ``auth``)."""
    return {
        "api": "",
        "auth": {"type": "local"},
        "max_bytes": settings.limits.max_bytes,
        "content_types": sorted(ALLOWED_CONTENT_TYPES),
    }


def security_headers(endpoint: str) -> dict[str, str]:
    """CSP: code and styles from this origin only; images and uploads also to the local S3 endpoint."""
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src 'self' data: {endpoint}; connect-src 'self' {endpoint}; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'"
    )
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        # The files change when the page is rebuilt: always revalidate (ETag).
        "Cache-Control": "no-cache",
    }


@dataclass
class Site:
    """Answers GET/HEAD of ``/``, ``/config.json`` and the files of ``root``; None for anything else."""

    root: Path
    config: dict[str, Any]
    endpoint: str

    def respond(self, request: Request) -> Response | None:
        if request.method not in ("GET", "HEAD"):
            return None
        name = "index.html" if request.path == "/" else request.path.lstrip("/")
        if name == "config.json":
            return self._headers(Response(json.dumps(self.config), mimetype="application/json"))
        if "/" in name or name.startswith(".") or name == "manifest.json":
            return None
        path = self.root / name
        if not path.is_file():
            if request.path == "/":
                return Response(
                    "The web page is not built: run `make setup` (or `python -m web.build`).\n",
                    status=503,
                    mimetype="text/plain",
                )
            return None
        kind = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        response = Response(path.read_bytes(), mimetype=kind)
        response.add_etag()
        response.make_conditional(request)
        return self._headers(response)

    def _headers(self, response: Response) -> Response:
        for key, value in security_headers(self.endpoint).items():
            response.headers[key] = value
        return response


def find_dist() -> Path | None:
    """``web/dist`` of this checkout, rebuilt if its sources changed; None when there is no ``web/``."""
    try:
        from web import build
    except ImportError:
        return None
    if not build.is_current():
        build.build()
    return build.DIST
