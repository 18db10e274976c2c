"""The web page on ``imgflow serve``'s root: the built files of ``web/`` and a ``config.json`` for them.

The files are public (like the CloudFront distribution in AWS). The link ``imgflow serve`` prints carries a
one-time code (``/#code=...``: a fragment never reaches a server or a log), which the page exchanges once
(``POST /sign-in``) for a session token: the link left in the address bar or the browser's history is then
worthless. ``POST /sign-in/links`` with a user's bearer token makes another link for that user.
"""

from __future__ import annotations

import json
import mimetypes
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from imgflow.config import Settings
from imgflow.uploads import ALLOWED_CONTENT_TYPES
from imgflow_tools import tokens

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


#: How long a sign-in link works if nobody opens it (it works once in any case).
CODE_TTL_S = 12 * 3600


@dataclass
class SignInCodes:
    """One-time sign-in codes: ``new(user)`` makes one, ``redeem(code)`` gives its user once, then never."""

    ttl_s: float = CODE_TTL_S
    _codes: dict[str, tuple[str, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def new(self, user: str) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            now = time.monotonic()
            self._codes = {c: v for c, v in self._codes.items() if v[1] > now}
            self._codes[code] = (user, now + self.ttl_s)
        return code

    def redeem(self, code: str) -> str | None:
        with self._lock:
            user, expires = self._codes.pop(code, ("", 0.0))
        return user if user and expires > time.monotonic() else None


def _no_store(status: int, body: dict[str, Any]) -> Response:
    return Response(
        json.dumps(body), status=status, mimetype="application/json", headers={"Cache-Control": "no-store"}
    )


@dataclass
class Site:
    """Answers GET/HEAD of ``/``, ``/config.json`` and the files of ``root``, and the sign-in links'
    ``POST /sign-in`` and ``POST /sign-in/links`` (with ``key``); None for anything else."""

    root: Path
    config: dict[str, Any]
    endpoint: str
    key: bytes = b""
    codes: SignInCodes = field(default_factory=SignInCodes)

    def link(self, base_url: str, user: str) -> str:
        """A sign-in link for ``user``: it works once."""
        return f"{base_url.rstrip('/')}/#code={self.codes.new(user)}"

    def sign_in(self, request: Request) -> Response:
        """``{"code"}`` -> ``{"token", "user"}``, once per code; 400 for a used, expired or unknown code."""
        body = request.get_json(silent=True)
        code = body.get("code") if isinstance(body, dict) else None
        user = self.codes.redeem(code) if isinstance(code, str) and len(code) < 200 else None
        if not user:
            return _no_store(
                400, {"message": "this sign-in link was already used, has expired or is not valid"}
            )
        return _no_store(200, {"token": tokens.issue(user, key=self.key), "user": user})

    def new_link(self, request: Request) -> Response:
        """A new sign-in link for the bearer token's user (no more than the token itself allows)."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        try:
            if scheme.lower() != "bearer":
                raise tokens.InvalidToken("no bearer token")
            user = str(tokens.verify(token.strip(), key=self.key)["sub"])
        except tokens.InvalidToken:
            return _no_store(401, {"message": "Unauthorized"})
        return _no_store(200, {"web": self.link(request.host_url, user), "user": user})

    def respond(self, request: Request) -> Response | None:
        if request.method == "POST" and self.key and request.path in ("/sign-in", "/sign-in/links"):
            return self._headers(
                self.sign_in(request) if request.path == "/sign-in" else self.new_link(request)
            )
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
            if key != "Cache-Control" or "Cache-Control" not in response.headers:
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
