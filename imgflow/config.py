"""Configuration read from the environment (Lambda env vars in AWS, process env locally).

Everything has a default that works in the local mode; CDK sets the same names on each function.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

#: Bump when the task code changes what it produces for the same spec (a new metadata field, another
#: resampling filter...). The spec itself (renditions, formats, limits) is hashed into the pipeline
#: version by ``pipeline_version``: changing it needs no bump.
TASK_CODE_VERSION = 2  # 2: placeholder, perceptual hash and sha256 (reprocess ``stale`` fills them in)

#: Formats accepted by default, by content (Pillow's format ids: pillow-heif's plugin is "HEIF", for HEIC and
#: HEIF; Pillow opens MPO through the JPEG plugin and APNG through PNG). ``IMGFLOW_FORMATS`` overrides it.
DEFAULT_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "GIF", "WEBP", "HEIF", "AVIF")
#: Formats that configuration may add, off by default: TIFF and BMP are rarely what a phone or camera uploads,
#: and their decoders (libtiff's many codecs, BMP's RLE variants) are a large attack surface for that value.
OPTIONAL_FORMATS: tuple[str, ...] = ("TIFF", "BMP")
KNOWN_FORMATS: tuple[str, ...] = DEFAULT_FORMATS + OPTIONAL_FORMATS
#: Backwards-compatible name of the default allow-list.
ALLOWED_FORMATS = DEFAULT_FORMATS
#: Names for people (messages, README).
FORMAT_LABELS: dict[str, str] = {"WEBP": "WebP", "HEIF": "HEIC", "MPO": "JPEG"}


def format_label(fmt: str) -> str:
    """The name people know a format by ("WebP", "HEIC", ...)."""
    return FORMAT_LABELS.get(fmt, fmt)


OutputFormat = Literal["auto", "JPEG", "WEBP", "AVIF", "PNG"]
Fit = Literal["inside", "cover"]
Position = Literal["centre", "entropy", "attention"]


#: The longest side a rendition may ask for: the smallest limit of the output encoders (WebP 16383 px; JPEG
#: 65535). A 32 x 65535 PNG made a 19660-px rendition that WebP refused with a ValueError (found by fuzzing).
MAX_RENDITION_SIDE = 16383


@dataclass(frozen=True)
class Rendition:
    """One rendition.

    ``fit="inside"``: longest side at most ``max_side``, aspect kept, never upscaled: the whole picture. Only
    a rendition that asks for it with ``min_side`` crops: no short side below ``min_side`` unless the
    original's is shorter, so a panorama is then scaled to that short side and its long side cropped to
    ``max_side`` at ``position`` (the default thumbnail: 64 px, by attention).
    ``fit="cover"``: exactly ``max_side`` x ``max_side / aspect`` (a square by default), scaled to cover it
    and cropped at ``position`` ("centre"; "entropy": the most detailed window; "attention": the window with
    the most edges, saturated colour and skin tones, as sharp's strategies). Never upscaled: a smaller
    original gives a smaller rendition of the same aspect.
    ``alternates``: the same rendition also encoded in these formats (the API serves the best one a client
    accepts).
    """

    name: str
    max_side: int
    #: "auto": JPEG for opaque images, WEBP when the image has alpha.
    format: OutputFormat = "auto"
    quality: int = 80
    fit: Fit = "inside"
    position: Position = "centre"
    #: Width / height of a ``cover`` rendition.
    aspect: float = 1.0
    #: Shortest short side for ``inside``, a panorama's long side cropped to keep it (0: none, never cropped).
    min_side: int = 0
    alternates: tuple[OutputFormat, ...] = ()

    def __post_init__(self) -> None:
        # Checked where the spec is read (the CDK synth, a cold start): not in the middle of a run.
        if self.aspect <= 0 or self.max_side < 1 or not 0 <= self.min_side <= self.max_side:
            raise ValueError(f"rendition {self.name!r}: max_side >= 1, 0 <= min_side <= max_side, aspect > 0")
        longest = max(self.max_side, math.ceil(self.max_side / self.aspect) if self.fit == "cover" else 0)
        if longest > MAX_RENDITION_SIDE:
            raise ValueError(
                f"rendition {self.name!r}: a side of {longest} px, more than {MAX_RENDITION_SIDE} "
                "(WebP's limit; an image with alpha is encoded as WebP)"
            )
        if not 1 <= self.quality <= 100:
            raise ValueError(f"rendition {self.name!r}: quality {self.quality} is not 1-100")


#: Only the thumbnail crops a panorama (a gallery tile needs a usable height; docs/formats.md, Panoramas).
DEFAULT_RENDITIONS: tuple[Rendition, ...] = (
    Rendition("thumb", 256, min_side=64, position="attention"),
    Rendition("medium", 1024),
    Rendition("large", 2048),
)


@dataclass(frozen=True)
class Limits:
    """Input limits enforced by ``validate`` (the pixel budgets per format: ``imgflow.image.budget``)."""

    #: A 200 MP phone JPEG is 20-40 MB; a 50 MP camera JPEG 15-30 MB.
    max_bytes: int = 64 * 1024 * 1024
    #: An extra cap on pixels for every format (0: none, the per-format budgets decide).
    max_pixels: int = 0
    #: The allow-list, by content (Pillow format ids).
    formats: tuple[str, ...] = DEFAULT_FORMATS


def pipeline_version(
    renditions: tuple[Rendition, ...], limits: Limits, formats: tuple[str, ...] = ALLOWED_FORMATS
) -> str:
    """A short hash of everything that determines a run's output: the rendition spec, the accepted
    formats and limits, and ``TASK_CODE_VERSION``. Records carry it; reprocessing ``stale`` selects
    every record whose version differs. 12 hex digits: [0-9a-f] only, so it fits an execution name."""
    spec: dict[str, Any] = {
        "code": TASK_CODE_VERSION,
        "renditions": [dataclasses.asdict(r) for r in renditions],
        "limits": dataclasses.asdict(limits),
        "formats": list(formats),
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]


def _renditions_from_env(raw: str | None) -> tuple[Rendition, ...]:
    if not raw:
        return DEFAULT_RENDITIONS
    renditions = []
    for item in json.loads(raw):
        if "alternates" in item:
            item = {**item, "alternates": tuple(item["alternates"])}
        renditions.append(Rendition(**item))
    return tuple(renditions)


def _formats_from_env(raw: str | None) -> tuple[str, ...]:
    """``IMGFLOW_FORMATS="JPEG,PNG,TIFF"``: the allow-list (names as in KNOWN_FORMATS, case-insensitive;
    HEIC is an alias of HEIF)."""
    if not raw:
        return DEFAULT_FORMATS
    names = [name.strip().upper() for name in raw.split(",") if name.strip()]
    names = ["HEIF" if name == "HEIC" else name for name in names]
    unknown = [name for name in names if name not in KNOWN_FORMATS]
    if unknown:
        raise ValueError(f"IMGFLOW_FORMATS: unknown format(s) {unknown}; known: {list(KNOWN_FORMATS)}")
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class Reprocessing:
    """How a reprocess run selects and how hard it may push (the Distributed Map's bounds)."""

    #: Child ingest runs at once: bounds Lambda concurrency (x3 tasks) and DynamoDB writes.
    max_concurrency: int = 20
    #: Percentage of failed child runs the Map tolerates before it fails (the summary is written anyway).
    tolerated_failure_percentage: float = 10.0
    #: Images one run selects at most (the manifest stays small); the next run picks up the rest.
    max_images: int = 100_000
    #: ``stuck``: how long a PENDING/PROCESSING record must have waited (default: upload URL expiry x2).
    stuck_after_s: int = 1800


@dataclass(frozen=True)
class Settings:
    """Names of the resources the tasks and the API use, plus limits and the rendition spec."""

    uploads_bucket: str = "imgflow-uploads"
    renditions_bucket: str = "imgflow-renditions"
    table_name: str = "imgflow-images"
    uploads_prefix: str = "uploads/"
    limits: Limits = field(default_factory=Limits)
    renditions: tuple[Rendition, ...] = DEFAULT_RENDITIONS
    #: Derived from the spec (``pipeline_version()``) unless given explicitly (IMGFLOW_PIPELINE_VERSION).
    pipeline_version: str = ""
    #: The ingest state machine (the API starts reprocess runs on it).
    ingest_state_machine_arn: str = ""
    #: HMAC key of the API's list cursors; every instance of the API must share it.
    cursor_key: str = ""
    reprocess: Reprocessing = field(default_factory=Reprocessing)
    #: Upload events the rule could not deliver (AWS: the rule's DLQ); ``stuck`` reprocessing drains it.
    upload_dlq_url: str = ""

    def __post_init__(self) -> None:
        if not self.pipeline_version:
            derived = pipeline_version(self.renditions, self.limits)
            object.__setattr__(self, "pipeline_version", derived)  # frozen: set once, here

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            uploads_bucket=env.get("IMGFLOW_UPLOADS_BUCKET", cls.uploads_bucket),
            renditions_bucket=env.get("IMGFLOW_RENDITIONS_BUCKET", cls.renditions_bucket),
            table_name=env.get("IMGFLOW_TABLE", cls.table_name),
            uploads_prefix=env.get("IMGFLOW_UPLOADS_PREFIX", cls.uploads_prefix),
            limits=Limits(
                max_bytes=int(env.get("IMGFLOW_MAX_BYTES", Limits.max_bytes)),
                max_pixels=int(env.get("IMGFLOW_MAX_PIXELS") or Limits.max_pixels),
                formats=_formats_from_env(env.get("IMGFLOW_FORMATS")),
            ),
            renditions=_renditions_from_env(env.get("IMGFLOW_RENDITIONS")),
            pipeline_version=env.get("IMGFLOW_PIPELINE_VERSION", ""),
            ingest_state_machine_arn=env.get("IMGFLOW_INGEST_STATE_MACHINE_ARN", ""),
            cursor_key=env.get("IMGFLOW_CURSOR_KEY", ""),
            reprocess=Reprocessing(
                max_concurrency=int(
                    env.get("IMGFLOW_REPROCESS_MAX_CONCURRENCY", Reprocessing.max_concurrency)
                ),
                tolerated_failure_percentage=float(
                    env.get(
                        "IMGFLOW_REPROCESS_TOLERATED_FAILURE_PERCENTAGE",
                        Reprocessing.tolerated_failure_percentage,
                    )
                ),
                max_images=int(env.get("IMGFLOW_REPROCESS_MAX_IMAGES", Reprocessing.max_images)),
                stuck_after_s=int(env.get("IMGFLOW_REPROCESS_STUCK_AFTER_S", Reprocessing.stuck_after_s)),
            ),
            upload_dlq_url=env.get("IMGFLOW_UPLOAD_DLQ_URL", ""),
        )


class _Settings:
    """``settings()``: this process's settings, read once from ``os.environ`` (in AWS each function is its own
    process with its own environment). Tests call ``settings.cache_clear()``.

    ``overlay`` is the local stack's seam (``imgflow_tools.local``): it runs every function in one process,
    and gives the calling thread the environment of the function it runs (None: the process environment).
    """

    def __init__(self) -> None:
        self.overlay: Callable[[], Mapping[str, str] | None] | None = None
        self._process: Settings | None = None
        self._by_environment: dict[tuple[tuple[str, str], ...], Settings] = {}

    def __call__(self) -> Settings:
        environ = self.overlay() if self.overlay else None
        if environ is None:
            if self._process is None:
                self._process = Settings.from_env()
            return self._process
        key = tuple(sorted(environ.items()))
        if (found := self._by_environment.get(key)) is None:
            found = self._by_environment[key] = Settings.from_env(environ)
        return found

    def cache_clear(self) -> None:
        self._process = None
        self._by_environment = {}


settings = _Settings()
