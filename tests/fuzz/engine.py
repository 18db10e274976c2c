"""Mutation fuzzing of ``validate``, ``extract_meta`` and ``resize``: seeds, mutators, verdicts, timings.

Formats: JPEG, PNG, GIF, WebP, AVIF and HEIC seeds (the ISO-BMFF ones get the generic mutations).

A case is a seed image (generated here, or a small file of the shared corpus) with 1-3 stacked mutations:
bit flips, interesting bytes, truncation, byte-range insert/delete/duplicate, splices of two seeds, and
format-aware edits (header width/height, PNG chunks with or without a fixed CRC, JPEG marker segments,
GIF blocks, RIFF/WebP chunk sizes, edits inside the EXIF block). Each case goes through the pure logic
(``validate_image``, ``extract_metadata``; ``render`` on every ``render_every``-th case that validate
accepts, at the default renditions or at a size that makes libjpeg decode at 3/8) and, every
``service_every`` cases, through the service entries (``validate_upload``, ``extract_for``) with moto S3.
A verdict is success or a named rejection
(``ImageRejected``); anything else, a result that is not JSON, or a task slower than the budget is a finding.
Everything derives from the seed: a run is repeatable.
"""

from __future__ import annotations

import functools
import io
import json
import os
import random
import signal
import struct
import time
import traceback
import warnings
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from imgflow.config import DEFAULT_RENDITIONS, MAX_RENDITION_SIDE, Limits, Rendition, Settings
from imgflow.errors import ImageRejected
from imgflow.image import jpeg_scale
from imgflow.image import opening as imaging
from imgflow.workflow.functions import TASKS
from tasks.extract_meta.metadata import extract_metadata
from tasks.resize.renditions import render
from tasks.validate.checks import ValidatedImage, validate_image

#: Corpus files larger than this are not used as seeds (a mutation of a big file mostly costs decode time).
MAX_SEED_BYTES = 192 * 1024
#: A result larger than this would not fit the workflow's state (256 KiB) next to the rest.
MAX_RESULT_BYTES = 32 * 1024
#: A case may take at most this share of its Lambda's timeout (a loaded Lambda must still finish it).
BUDGET_SHARE = 0.25


def task_budgets(share: float = BUDGET_SHARE) -> dict[str, float]:
    """Seconds each fuzzed entry may take: ``share`` of the timeout of the function it runs in."""
    timeouts = {spec.name: spec.timeout_s for spec in TASKS}
    return {
        "validate": timeouts["validate"] * share,
        "validate_upload": timeouts["validate"] * share,
        "extract_meta": timeouts["extract_meta"] * share,
        "extract_for": timeouts["extract_meta"] * share,
        "resize": timeouts["resize"] * share,
    }


class TaskTimeout(Exception):
    """A task ran over the per-task budget (raised from a timer signal)."""


# -- seeds -----------------------------------------------------------------------------------------------
def _exif(orientation: int = 6) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "FuzzCam"  # Make
    exif[0x0110] = "Model 1"  # Model
    exif[0x0112] = orientation
    exif[0x0132] = "2024:05:01 12:00:00"  # DateTime
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2024:05:01 12:00:00"  # DateTimeOriginal
    sub[0x829A] = 1 / 250  # ExposureTime
    sub[0x829D] = 2.8  # FNumber
    sub[0x8827] = 200  # ISO
    sub[0x920A] = 35.0  # FocalLength
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 51.0, 24.0)
    gps[3], gps[4] = "W", (2.0, 21.0, 0.0)
    gps[5], gps[6] = b"\x00", 35.0
    return exif.tobytes()


def generated_seeds() -> dict[str, bytes]:
    """Small images of every accepted format and its common variants (made once per process)."""
    return dict(_generated_seeds())


@functools.cache
def _generated_seeds() -> dict[str, bytes]:
    base = Image.linear_gradient("L").resize((48, 32)).convert("RGB")
    rgba = base.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize((48, 32)))
    seeds: dict[str, bytes] = {}

    def save(name: str, im: Image.Image, fmt: str, **options: Any) -> None:
        buf = io.BytesIO()
        im.save(buf, fmt, **options)
        seeds[name] = buf.getvalue()

    save("baseline.jpg", base, "JPEG", quality=80, exif=_exif())
    save("progressive.jpg", base, "JPEG", quality=80, progressive=True, exif=_exif(3))
    save("gray.jpg", base.convert("L"), "JPEG")
    save("cmyk.jpg", base.convert("CMYK"), "JPEG")
    save("subsampled.jpg", base, "JPEG", subsampling=2, icc_profile=b"\0" * 128, restart_marker_blocks=1)
    save("rgb.png", base, "PNG", exif=_exif(8))
    save("rgba.png", rgba, "PNG")
    save("palette.png", base.convert("P"), "PNG", transparency=0)
    save("gray16.png", base.convert("I;16"), "PNG")
    save("interlaced.png", base, "PNG", interlace=1)
    frames = [base.rotate(i * 90).convert("P") for i in range(3)]
    save("still.gif", base.convert("P"), "GIF")
    save("animated.gif", frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    save("lossy.webp", base, "WEBP", quality=70, exif=_exif())
    save("lossless.webp", rgba, "WEBP", lossless=True)
    save("animated.webp", base, "WEBP", save_all=True, append_images=[base.rotate(90)], duration=50)
    save("photo.avif", base, "AVIF", quality=60, exif=_exif(8))
    imaging._ensure_heif()  # registered as validate registers it (no thumbnails, depth or auxiliary images)
    save("photo.heic", base, "HEIF", quality=60, exif=_exif(6))
    return seeds


def corpus_seeds(root: Path | None, limit: int = 400) -> dict[str, bytes]:
    """Small files of the shared corpus (images and hostile files alike); {} when it is absent."""
    if root is None or not root.is_dir():
        return {}
    seeds: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        if len(seeds) >= limit:
            break
        if (
            path.is_file()
            and 0 < path.stat().st_size <= MAX_SEED_BYTES
            and path.suffix.lower()
            not in (
                ".md",
                ".txt",
                ".json",
                ".rst",
                "",
            )
        ):
            seeds[str(path.relative_to(root))] = path.read_bytes()
    return seeds


# -- mutators ---------------------------------------------------------------------------------------------
Mutator = Callable[[bytes, random.Random, dict[str, bytes]], bytes]
INTERESTING = (0x00, 0x01, 0x7F, 0x80, 0xFF, 0xFE, 0x10, 0x40)
INTERESTING_32 = (0, 1, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 46341, 65500)


def bit_flips(data: bytes, rng: random.Random, seeds: dict[str, bytes]) -> bytes:
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 4, 8, 32))):
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def interesting_bytes(data: bytes, rng: random.Random, seeds: dict[str, bytes]) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        # Headers matter most: bias towards the first 256 bytes.
        i = rng.randrange(min(len(out), 256) if rng.random() < 0.6 else len(out))
        out[i] = rng.choice(INTERESTING)
    return bytes(out)


def truncate(data: bytes, rng: random.Random, _: dict[str, bytes]) -> bytes:
    cut = rng.choice((rng.randrange(len(data)), len(data) - rng.randint(1, 16), rng.randrange(64)))
    return data[: max(0, cut)]


def byte_ranges(data: bytes, rng: random.Random, _: dict[str, bytes]) -> bytes:
    i = rng.randrange(len(data))
    n = rng.randint(1, 64)
    op = rng.randrange(3)
    if op == 0:  # delete
        return data[:i] + data[i + n :]
    if op == 1:  # insert random bytes
        return data[:i] + rng.randbytes(n) + data[i:]
    return data[:i] + data[i : i + n] * rng.randint(2, 50) + data[i + n :]  # duplicate


def splice(data: bytes, rng: random.Random, seeds: dict[str, bytes]) -> bytes:
    other = seeds[rng.choice(sorted(seeds))]
    return data[: rng.randrange(len(data))] + other[rng.randrange(len(other)) :]


def header_dimensions(data: bytes, rng: random.Random, _: dict[str, bytes]) -> bytes:
    """Set a width or height field of the format's header to an extreme or random value."""
    out = bytearray(data)
    value = rng.choice((*INTERESTING_32, rng.randrange(1 << 16), rng.randrange(1 << 32)))
    if out.startswith(b"\x89PNG") and len(out) >= 33:
        struct.pack_into(">I", out, rng.choice((16, 20)), value & 0xFFFFFFFF)
        if rng.random() < 0.7:  # valid CRC, so the edit reaches past the CRC check
            struct.pack_into(">I", out, 29, zlib.crc32(bytes(out[12:29])))
    elif out.startswith(b"GIF") and len(out) >= 10:
        struct.pack_into("<H", out, rng.choice((6, 8)), value & 0xFFFF)
    elif out.startswith(b"\xff\xd8"):
        sofs = [i for i in range(2, len(out) - 9) if out[i] == 0xFF and out[i + 1] in (0xC0, 0xC1, 0xC2)]
        if sofs:
            struct.pack_into(">H", out, rng.choice(sofs) + rng.choice((5, 7)), value & 0xFFFF)
    elif out[:4] == b"RIFF" and len(out) >= 30:
        kind = bytes(out[12:16])
        if kind == b"VP8X":
            at = rng.choice((24, 27))
            out[at : at + 3] = (value & 0xFFFFFF).to_bytes(3, "little")
        elif kind == b"VP8 ":
            struct.pack_into("<H", out, rng.choice((26, 28)), value & 0xFFFF)
        elif kind == b"VP8L":
            struct.pack_into("<I", out, 21, value & 0xFFFFFFFF)
    else:
        return bit_flips(data, rng, _)
    return bytes(out)


def _png_chunks(data: bytes) -> list[bytes]:
    chunks, pos = [], 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        end = pos + 12 + length
        if end > len(data):
            break
        chunks.append(data[pos:end])
        pos = end
    return chunks


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


@functools.cache
def _text_bomb() -> bytes:
    """5 MB of text in 5 KB of zlib (Pillow caps decompressed text chunks)."""
    return zlib.compress(b"A" * 5_000_000, 9)


def png_chunks(data: bytes, rng: random.Random, seeds: dict[str, bytes]) -> bytes:
    """Delete, duplicate, swap, resize or corrupt PNG chunks (CRC fixed or not); inject odd chunks."""
    chunks = _png_chunks(data)
    if not data.startswith(b"\x89PNG") or not chunks:
        return byte_ranges(data, rng, seeds)
    i = rng.randrange(len(chunks))
    op = rng.randrange(6)
    if op == 0:
        del chunks[i]
    elif op == 1:
        chunks.insert(i, chunks[i] * rng.randint(1, 3))
    elif op == 2:
        j = rng.randrange(len(chunks))
        chunks[i], chunks[j] = chunks[j], chunks[i]
    elif op == 3:  # wrong declared length
        chunk = bytearray(chunks[i])
        struct.pack_into(">I", chunk, 0, rng.choice(INTERESTING_32))
        chunks[i] = bytes(chunk)
    elif op == 4:  # payload mutated, CRC recomputed
        kind, payload = chunks[i][4:8], chunks[i][8:-4]
        if payload:
            payload = bit_flips(payload, rng, seeds)
        chunks[i] = _png_chunk(kind, payload)
    else:
        kind = rng.choice((b"eXIf", b"iCCP", b"zTXt", b"iTXt", b"tEXt", b"acTL", b"fcTL", b"PLTE", b"tRNS"))
        payload = rng.choice((b"", rng.randbytes(rng.randint(1, 64)), b"MM\x00*" + rng.randbytes(60)))
        if kind == b"zTXt":
            payload = b"k\x00\x00" + _text_bomb()
        chunks.insert(rng.randint(1, len(chunks)), _png_chunk(kind, payload))
    return data[:8] + b"".join(chunks)


def _jpeg_segments(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of the marker segments before SOS."""
    segments, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segments.append((pos, pos + 2 + length))
        if marker == 0xDA:
            break
        pos += 2 + length
    return segments


def jpeg_markers(data: bytes, rng: random.Random, seeds: dict[str, bytes]) -> bytes:
    """Delete, duplicate, re-length or corrupt JPEG marker segments; inject markers and EOIs."""
    segments = _jpeg_segments(data)
    if not data.startswith(b"\xff\xd8") or not segments:
        return byte_ranges(data, rng, seeds)
    start, end = rng.choice(segments)
    op = rng.randrange(5)
    if op == 0:
        return data[:start] + data[end:]
    if op == 1:
        return data[:end] + data[start:end] * rng.randint(1, 20) + data[end:]
    if op == 2:
        out = bytearray(data)
        struct.pack_into(">H", out, start + 2, rng.choice((0, 1, 2, 3, 0xFFFF, rng.randrange(1 << 16))))
        return bytes(out)
    if op == 3:
        body = data[start + 4 : end]
        body = bit_flips(body, rng, seeds) if body else body
        return data[: start + 4] + body + data[end:]
    marker = rng.choice((0xD9, 0xD8, 0xC0, 0xC4, 0xDB, 0xDD, 0xE1, 0xE2, 0xFE, 0x01, 0xFF))
    payload = rng.randbytes(rng.randint(0, 40))
    injected = bytes((0xFF, marker)) + (
        struct.pack(">H", len(payload) + 2) + payload if marker > 0xD9 else b""
    )
    return data[:start] + injected + data[start:]


def gif_blocks(data: bytes, rng: random.Random, seeds: dict[str, bytes]) -> bytes:
    """Edit GIF flags (global table size, interlace), duplicate image blocks, drop the trailer."""
    if not data.startswith(b"GIF") or len(data) < 14:
        return byte_ranges(data, rng, seeds)
    out = bytearray(data)
    op = rng.randrange(4)
    if op == 0:
        out[10] = rng.randrange(256)  # packed field: global colour table flag and size
    elif op == 1:
        frames = [i for i in range(13, len(out) - 10) if out[i] == 0x2C]
        if frames:
            i = rng.choice(frames)
            out[i + 9] = rng.randrange(256)  # local packed field
    elif op == 2:
        first = data.find(b"\x21\xf9")
        if first > 0:
            return data[:-1] + data[first:-1] * rng.randint(2, 30) + b";"
    else:
        return (
            data[:-1] if rng.random() < 0.5 else data.replace(b"NETSCAPE2.0", b"NETSCAPE2.0\x03\x01\xff\xff")
        )
    return bytes(out)


def riff_chunks(data: bytes, rng: random.Random, seeds: dict[str, bytes]) -> bytes:
    """RIFF size and chunk sizes of a WebP set to extremes; VP8X flags flipped; chunks duplicated."""
    if data[:4] != b"RIFF" or len(data) < 20:
        return byte_ranges(data, rng, seeds)
    out = bytearray(data)
    op = rng.randrange(4)
    if op == 0:
        struct.pack_into("<I", out, 4, rng.choice(INTERESTING_32))
    elif op == 1:
        struct.pack_into("<I", out, 16, rng.choice(INTERESTING_32))
    elif op == 2 and out[12:16] == b"VP8X":
        out[20] = rng.randrange(256)
    else:
        chunk = data[12 : 12 + 8 + int.from_bytes(data[16:20], "little")]
        return data + chunk * rng.randint(1, 5)
    return bytes(out)


def exif_block(data: bytes, rng: random.Random, seeds: dict[str, bytes]) -> bytes:
    """Bit flips and interesting values inside the EXIF/TIFF structure (offsets, counts, types)."""
    at = data.find(b"Exif\x00\x00")
    at = at + 6 if at >= 0 else data.find(b"MM\x00*") if b"MM\x00*" in data else data.find(b"II*\x00")
    if not 0 <= at < len(data):
        return bit_flips(data, rng, seeds)
    out = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        i = at + rng.randrange(min(400, len(out) - at))
        out[i] = rng.choice((*INTERESTING, rng.randrange(256)))
    return bytes(out)


MUTATORS: dict[str, Mutator] = {
    "bit_flips": bit_flips,
    "interesting_bytes": interesting_bytes,
    "truncate": truncate,
    "byte_ranges": byte_ranges,
    "splice": splice,
    "header_dimensions": header_dimensions,
    "png_chunks": png_chunks,
    "jpeg_markers": jpeg_markers,
    "gif_blocks": gif_blocks,
    "riff_chunks": riff_chunks,
    "exif_block": exif_block,
}


def mutate(data: bytes, rng: random.Random, seeds: dict[str, bytes]) -> tuple[bytes, list[str]]:
    applied = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        if not data:
            break
        name = rng.choice(sorted(MUTATORS))
        data = MUTATORS[name](data, rng, seeds)
        applied.append(name)
    return data, applied


# -- running ----------------------------------------------------------------------------------------------
@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise ``TaskTimeout`` in the main thread after ``seconds`` (no limit elsewhere or when 0)."""
    try:
        previous = signal.signal(signal.SIGALRM, _raise_timeout)
    except ValueError:  # not the main thread
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _raise_timeout(signum: int, frame: Any) -> None:
    raise TaskTimeout("over the per-task time budget")


@dataclass
class Finding:
    case: int
    seed: str
    mutations: list[str]
    task: str
    problem: str
    data: bytes

    def describe(self) -> str:
        return f"case {self.case} ({self.seed} + {'+'.join(self.mutations)}) {self.task}: {self.problem}"


@dataclass
class Report:
    cases: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    slowest: dict[str, tuple[float, str]] = field(default_factory=dict)
    total_s: dict[str, float] = field(default_factory=dict)
    service_cases: int = 0

    def time(self, task: str, seconds: float, label: str) -> None:
        self.total_s[task] = self.total_s.get(task, 0.0) + seconds
        if seconds > self.slowest.get(task, (0.0, ""))[0]:
            self.slowest[task] = (seconds, label)

    def as_json(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "service_cases": self.service_cases,
            "verdicts": dict(self.verdicts),
            "findings": [f.describe() for f in self.findings],
            "slowest": {task: {"s": round(s, 3), "case": label} for task, (s, label) in self.slowest.items()},
            "summary": self.summary(),
        }

    def summary(self) -> str:
        lines = [f"fuzz cases={self.cases} service_cases={self.service_cases} findings={len(self.findings)}"]
        for task, (seconds, label) in sorted(self.slowest.items()):
            lines.append(
                f"  {task}: total {self.total_s[task]:.1f} s, slowest {seconds * 1000:.0f} ms ({label})"
            )
        lines.append("  verdicts: " + ", ".join(f"{k}={v}" for k, v in self.verdicts.most_common()))
        lines += [f"  FINDING {f.describe()}" for f in self.findings[:50]]
        return "\n".join(lines)


def _verdict(task: str, call: Callable[[], Any], budget_s: float) -> tuple[str, str | None, float]:
    """(verdict, problem or None, seconds): success/rejection name, or what went wrong."""
    started = time.perf_counter()
    try:
        with time_limit(budget_s):
            result = call()
    except ImageRejected as exc:
        return f"{task}:{type(exc).__name__}", None, time.perf_counter() - started
    except TaskTimeout:
        return f"{task}:TIMEOUT", f"over the budget of {budget_s} s", time.perf_counter() - started
    except Exception as exc:  # the finding: an exception that is not a named verdict
        tail = traceback.format_exception(exc)[-3:]
        return (
            f"{task}:UNHANDLED",
            f"{type(exc).__name__}: {exc}\n{''.join(tail)}",
            time.perf_counter() - started,
        )
    elapsed = time.perf_counter() - started
    if task.startswith("extract"):
        try:
            encoded = json.dumps(result, allow_nan=False)
        except (TypeError, ValueError) as exc:
            return f"{task}:NOT_JSON", f"result is not JSON: {exc}", elapsed
        if len(encoded) > MAX_RESULT_BYTES:
            return f"{task}:TOO_BIG", f"result of {len(encoded)} bytes", elapsed
    return f"{task}:ok", None, elapsed


class ServiceHarness:
    """``validate_upload`` and ``extract_for`` against moto S3 (in process), one object per case."""

    def __init__(self, settings: Settings) -> None:
        from moto import mock_aws

        from imgflow import aws
        from imgflow.records import TABLE

        self.settings = settings
        # moto's in-process mock, never a local stack this process may have been pointed at (its endpoint
        # and keys); validate looks the bytes up in the table (exact duplicates), so DynamoDB needs a region.
        for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")] + ["AWS_SESSION_TOKEN"]:
            os.environ.pop(name, None)
        os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        self._mock = mock_aws()
        self._mock.start()
        aws.client.cache_clear()
        self.s3 = aws.client("s3")
        self.s3.create_bucket(Bucket=settings.uploads_bucket)
        aws.client("dynamodb").create_table(TableName=settings.table_name, **TABLE)

    def close(self) -> None:
        from imgflow import aws

        self._mock.stop()
        aws.client.cache_clear()

    def run(self, case: int, data: bytes, budgets: dict[str, float]) -> list[tuple[str, str | None, float]]:
        from imgflow.models import ImageRef, ProcessInput
        from tasks.extract_meta.service import extract_for
        from tasks.validate.service import validate_upload

        key = f"{self.settings.uploads_prefix}fuzzer/case{case}"
        self.s3.put_object(Bucket=self.settings.uploads_bucket, Key=key, Body=data)
        ref = ImageRef(
            id=f"case{case}", owner="fuzzer", bucket=self.settings.uploads_bucket, key=key, sequencer="1"
        )
        validated: list[Any] = []

        def validate() -> Any:
            validated.append(validate_upload(ref, self.settings))
            return validated[0]

        results = [_verdict("validate_upload", validate, budgets["validate_upload"])]
        if validated:  # the workflow runs extract_meta only on what validate accepted
            task = ProcessInput(image=ref, validated=validated[0])
            extract = functools.partial(extract_for, task, self.settings)
            results.append(_verdict("extract_for", extract, budgets["extract_for"]))
        self.s3.delete_object(Bucket=self.settings.uploads_bucket, Key=key)
        return results


def run(
    *,
    cases: int,
    seed: int,
    corpus: Path | None = None,
    budget_s: float | None = None,
    service_every: int = 25,
    render_every: int = 2,
    limits: Limits | None = None,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Run ``cases`` mutated inputs derived from ``seed``; the report holds every finding.

    ``budget_s`` is one budget for every task; by default each task gets ``task_budgets()``.
    """
    budgets = task_budgets() if budget_s is None else dict.fromkeys(task_budgets(), budget_s)
    rng = random.Random(seed)
    seeds = {**generated_seeds(), **corpus_seeds(corpus)}
    names = sorted(seeds)
    limits = limits or Limits()
    settings = Settings(limits=limits)
    report = Report()
    harness = ServiceHarness(settings) if service_every else None
    with warnings.catch_warnings():  # Pillow's notes on malformed metadata: expected here, by the thousand
        warnings.simplefilter("ignore")
        try:
            every = (service_every, render_every)
            _cases(report, rng, seeds, names, cases, limits, budgets, harness, every, progress)
        finally:
            if harness:
                harness.close()
    return report


def _cases(
    report: Report,
    rng: random.Random,
    seeds: dict[str, bytes],
    names: list[str],
    cases: int,
    limits: Limits,
    budgets: dict[str, float],
    harness: ServiceHarness | None,
    every: tuple[int, int],
    progress: Callable[[int], None] | None,
) -> None:
    service_every, render_every = every
    for case in range(cases):
        name = rng.choice(names)
        data, applied = mutate(seeds[name], rng, seeds)
        label = f"case {case}: {name} + {'+'.join(applied) or 'none'}"
        accepted: list[ValidatedImage] = []
        validating = functools.partial(_validate_into, accepted, data, limits)
        outcomes = [
            _verdict("validate", validating, budgets["validate"]),
            _verdict(
                "extract_meta",
                functools.partial(extract_metadata, data, limits),
                budgets["extract_meta"],
            ),
        ]
        # The workflow resizes only what validate accepted.
        if accepted and render_every and case % render_every == 0:
            spec = _render_spec(accepted[0], case // render_every)
            rendering = functools.partial(render, data, spec, limits)
            outcomes.append(_verdict("resize", rendering, budgets["resize"]))
        if harness and data and case % service_every == 0:
            outcomes += harness.run(case, data, budgets)
            report.service_cases += 1
        for verdict, problem, seconds in outcomes:
            task = verdict.split(":", 1)[0]
            report.verdicts[verdict] += 1
            report.time(task, seconds, label)
            if problem:
                report.findings.append(Finding(case, name, applied, task, problem, data))
        report.cases += 1
        if progress and case % 1000 == 999:
            progress(case + 1)


def _validate_into(accepted: list[ValidatedImage], data: bytes, limits: Limits) -> ValidatedImage:
    accepted.append(validate_image(data, limits))
    return accepted[-1]


def _render_spec(image: ValidatedImage, turn: int) -> tuple[Rendition, ...]:
    """The default renditions, or (every other turn) one size that a JPEG decodes at 3/8 for."""
    if turn % 2 == 0:
        return DEFAULT_RENDITIONS
    side = max(jpeg_scale.decoded_size((image.width, image.height), 3))
    return (Rendition("r", max(1, min(MAX_RENDITION_SIDE, int(side / 1.25)))),)
