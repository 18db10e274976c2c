"""Configuration read from the environment (Lambda env vars in AWS, process env locally).

Everything has a default that works in the local mode; CDK sets the same names on each function.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

#: Bump when what the pipeline produces changes (renditions, metadata fields):
#: records carry it, and reprocessing finds the records made by older versions.
PIPELINE_VERSION = 1

#: Formats accepted, by content. Pillow opens MPO through the JPEG plugin and APNG through PNG.
ALLOWED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "GIF", "WEBP")

OutputFormat = Literal["auto", "JPEG", "WEBP", "PNG"]


@dataclass(frozen=True)
class Rendition:
    """One rendition: longest side at most ``max_side`` px, never upscaled."""

    name: str
    max_side: int
    #: "auto": JPEG for opaque images, WEBP when the image has alpha.
    format: OutputFormat = "auto"
    quality: int = 80


DEFAULT_RENDITIONS: tuple[Rendition, ...] = (
    Rendition("thumb", 256),
    Rendition("medium", 1024),
    Rendition("large", 2048),
)


@dataclass(frozen=True)
class Limits:
    """Input limits enforced by ``validate``."""

    max_bytes: int = 25 * 1024 * 1024
    max_pixels: int = 50_000_000


def _renditions_from_env(raw: str | None) -> tuple[Rendition, ...]:
    if not raw:
        return DEFAULT_RENDITIONS
    return tuple(Rendition(**item) for item in json.loads(raw))


@dataclass(frozen=True)
class Settings:
    """Names of the resources the tasks and the API use, plus limits and the rendition spec."""

    uploads_bucket: str = "imgflow-uploads"
    renditions_bucket: str = "imgflow-renditions"
    table_name: str = "imgflow-images"
    uploads_prefix: str = "uploads/"
    limits: Limits = field(default_factory=Limits)
    renditions: tuple[Rendition, ...] = DEFAULT_RENDITIONS
    pipeline_version: int = PIPELINE_VERSION
    #: The ingest state machine (the API starts reprocess runs on it).
    ingest_state_machine_arn: str = ""
    #: HMAC key of the API's list cursors; every instance of the API must share it.
    cursor_key: str = ""

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            uploads_bucket=env.get("IMGFLOW_UPLOADS_BUCKET", cls.uploads_bucket),
            renditions_bucket=env.get("IMGFLOW_RENDITIONS_BUCKET", cls.renditions_bucket),
            table_name=env.get("IMGFLOW_TABLE", cls.table_name),
            uploads_prefix=env.get("IMGFLOW_UPLOADS_PREFIX", cls.uploads_prefix),
            limits=Limits(
                max_bytes=int(env.get("IMGFLOW_MAX_BYTES", Limits.max_bytes)),
                max_pixels=int(env.get("IMGFLOW_MAX_PIXELS", Limits.max_pixels)),
            ),
            renditions=_renditions_from_env(env.get("IMGFLOW_RENDITIONS")),
            pipeline_version=int(env.get("IMGFLOW_PIPELINE_VERSION", PIPELINE_VERSION)),
            ingest_state_machine_arn=env.get("IMGFLOW_INGEST_STATE_MACHINE_ARN", ""),
            cursor_key=env.get("IMGFLOW_CURSOR_KEY", ""),
        )


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process-wide settings (read once; tests call ``settings.cache_clear()``)."""
    return Settings.from_env()
