"""Tasks A-E: each returns its result line's fields and a detail record (written to bench/out/)."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from PIL import Image, ImageFile

from bench.measure import Samples, Timed, interleave, timed
from bench.quality import compare
from bench.sharp import SharpWorker
from imgflow.config import DEFAULT_RENDITIONS, Limits, Rendition
from imgflow.image.phash import phash
from imgflow.image.placeholder import placeholder
from tasks.extract_meta.metadata import extract_metadata
from tasks.resize.renditions import render, render_with_preview
from tasks.validate.checks import validate_image

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("IMGFLOW_PERF_CORPUS", REPO.parent / "shared" / "corpus" / "perf"))
A_INPUT = CORPUS / "sharp" / "2569067123_aca715a2ee_o.jpg"
B_INPUT = CORPUS / "exif-samples" / "42_IndexError.jpg"
PHOTOS = [A_INPUT, B_INPUT, CORPUS / "exif-samples" / "HMD_Nokia_8.3_5G.jpg"]
PHOTOS.append(CORPUS / "exif-samples" / "iphone_hdr_NO.jpg")
LIMITS = Limits()
A_SPEC = (Rendition("a", 720),)  # 2725x2225 -> 720x588, the geometry of sharp's resize(720, 588)
LANCZOS = Image.Resampling.LANCZOS

Fields = dict[str, float | int]
Detail = dict[str, Any]


# -- implementations: bytes in, encodings out ------------------------------------------------------------
def _jpeg(im: Image.Image) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def naive(data: bytes, sizes: list[tuple[int, int]]) -> list[bytes]:
    """Pillow naive: open, convert, Lanczos from full resolution for every size, save q80."""
    with Image.open(io.BytesIO(data)) as im:
        rgb = im.convert("RGB")
    return [_jpeg(rgb.resize(size, LANCZOS)) for size in sizes]


def imgflow_render(data: bytes, spec: tuple[Rendition, ...]) -> list[bytes]:
    """imgflow's resize code path (``render``), outputs largest first."""
    out = render(data, spec, LIMITS)
    return [r.data for r in sorted(out, key=lambda r: -r.width * r.height)]


def sizes_of(encodings: list[bytes]) -> list[tuple[int, int]]:
    sizes = []
    for data in encodings:
        with Image.open(io.BytesIO(data)) as im:
            sizes.append(im.size)
    return sizes


# -- A and B: imgflow vs naive vs sharp ------------------------------------------------------------------
def _versus_sharp(
    task: str, path: Path, spec: tuple[Rendition, ...], sharp: SharpWorker | None, blocks: int, rounds: int
) -> tuple[Fields, Detail]:
    data = path.read_bytes()
    ours = imgflow_render(data, spec)
    sizes = sizes_of(ours)
    reference = naive(data, sizes)
    impls: dict[str, Callable[[], Timed]] = {
        "imgflow": lambda: timed(lambda: imgflow_render(data, spec)),
        "naive": lambda: timed(lambda: naive(data, sizes)),
    }
    detail: Detail = {"input": str(path), "sizes": sizes, "quality_vs_naive": {}}
    detail["quality_vs_naive"]["imgflow"] = compare(ours, reference)
    if sharp:
        with tempfile.TemporaryDirectory() as tmp:
            written = sharp.run(task, path, Path(tmp) / "sharp")["outputs"]
            theirs = [Path(p).read_bytes() for p in written]
        if sizes_of(theirs) != sizes:
            raise RuntimeError(f"sharp made {sizes_of(theirs)}, imgflow {sizes}")
        detail["quality_vs_naive"]["sharp"] = compare(theirs, reference)
        detail["sharp_versions"] = sharp.versions

        def sharp_call() -> Timed:
            reply = sharp.run(task, path)
            return reply["wall_ms"], reply["cpu_ms"]

        impls["sharp"] = sharp_call
    samples = interleave(impls, blocks, rounds)
    detail.update(_summary(samples))
    psnr_db, ssim, _ = detail["quality_vs_naive"]["imgflow"]
    fields: Fields = {}
    if sharp:
        fields["ratio_vs_sharp"] = samples.ratio("imgflow", "sharp")[0]
    fields.update(ratio_vs_naive=samples.ratio("imgflow", "naive")[0], psnr_db=psnr_db, ssim=ssim)
    return fields, detail


def _summary(samples: Samples) -> Detail:
    names = list(samples.blocks)
    out: Detail = {"calls": {n: sum(len(b) for b in samples.blocks[n]) for n in names}}
    out["wall_ms"] = {n: samples.median(n, 0) for n in names}
    out["cpu_ms"] = {n: samples.median(n, 1) for n in names}
    for ref in ("sharp", "naive"):
        if ref in names:
            out[f"wall_ratio_vs_{ref}"] = {n: samples.ratio(n, ref, 0) for n in names}
            out[f"cpu_ratio_vs_{ref}"] = {n: samples.ratio(n, ref, 1) for n in names}
    return out


def task_a(sharp: SharpWorker | None, quick: bool) -> tuple[Fields, Detail]:
    """sharp's benchmark: 2725x2225 JPEG -> 720x588, Lanczos, JPEG q80."""
    return _versus_sharp("A", A_INPUT, A_SPEC, sharp, *((2, 5) if quick else (10, 10)))


def task_b(sharp: SharpWorker | None, quick: bool) -> tuple[Fields, Detail]:
    """12 MP JPEG -> 2048, 1024 and 256 px longest side, JPEG q80."""
    return _versus_sharp("B", B_INPUT, DEFAULT_RENDITIONS, sharp, *((2, 2) if quick else (8, 6)))


# -- C: CPU per image across validate + extract_meta + resize ----------------------------------------------
def imgflow_tasks(data: bytes) -> list[bytes]:
    """The three tasks' image work, with validate's sha256 and resize's placeholder and pHash."""
    validate_image(data, LIMITS)
    hashlib.sha256(data).hexdigest()
    extract_metadata(data, LIMITS)
    rendered, preview = render_with_preview(data, DEFAULT_RENDITIONS, LIMITS)
    if preview is not None:
        placeholder(preview)
        phash(preview)
    return [r.data for r in sorted(rendered, key=lambda r: -r.width * r.height)]


def naive_tasks(data: bytes, sizes: list[tuple[int, int]]) -> list[bytes]:
    """Every task decodes the whole image: validate (load), extract_meta (load, EXIF), resize (naive)."""
    for _ in range(2):
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            im.getexif()
    return naive(data, sizes)


@contextlib.contextmanager
def counting_full_decodes() -> Iterator[list[int]]:
    """Count pixel decodes at full resolution (JPEG without a reduced-scale draft, every other format)."""
    count = [0]
    original = ImageFile.ImageFile.load

    def load(self: ImageFile.ImageFile) -> Any:
        config = getattr(self, "decoderconfig", ())
        if self.tile and (not config or config[0] == 1):
            count[0] += 1
        return original(self)

    ImageFile.ImageFile.load = load  # type: ignore[method-assign]
    try:
        yield count
    finally:
        ImageFile.ImageFile.load = original  # type: ignore[method-assign]


def task_c(quick: bool) -> tuple[Fields, Detail]:
    photos = {p.name: p.read_bytes() for p in PHOTOS}
    impls: dict[str, Callable[[], Timed]] = {}
    detail: Detail = {"photos": {}}
    worst = (float("inf"), float("inf"))
    for name, data in photos.items():
        with counting_full_decodes() as decodes:
            ours = imgflow_tasks(data)
        sizes = sizes_of(ours)
        psnr_db, ssim, chroma_db = compare(ours, naive(data, sizes))
        worst = (min(worst[0], psnr_db), min(worst[1], ssim))
        detail["photos"][name] = {"full_decodes": decodes[0], "psnr_db": psnr_db, "ssim": ssim}
        detail["photos"][name]["chroma_psnr_db"] = chroma_db
        impls[f"imgflow:{name}"] = functools.partial(timed, functools.partial(imgflow_tasks, data))
        impls[f"naive:{name}"] = functools.partial(timed, functools.partial(naive_tasks, data, sizes))
    samples = interleave(impls, *((1, 1) if quick else (3, 3)))
    cpu = {n: samples.median(n, 1) for n in impls}
    ours_ms = statistics.mean(cpu[f"imgflow:{n}"] for n in photos)
    naive_ms = statistics.mean(cpu[f"naive:{n}"] for n in photos)
    detail.update(cpu_ms=cpu, imgflow_cpu_ms_per_image=ours_ms, naive_cpu_ms_per_image=naive_ms)
    most_decodes: int = max(p["full_decodes"] for p in detail["photos"].values())
    fields: Fields = {"ratio_vs_naive": ours_ms / naive_ms, "psnr_db": worst[0], "ssim": worst[1]}
    fields["full_decodes"] = most_decodes
    return fields, detail


# -- D: peak RSS of render on the 12 MP photo, in a fresh process ------------------------------------------
_RSS_CHILD = """
import sys
kind, path = sys.argv[1], sys.argv[2]
from imgflow.config import DEFAULT_RENDITIONS, Limits
data = open(path, "rb").read()
if kind == "imgflow":
    from tasks.resize.renditions import render, render_with_preview
    render(data, DEFAULT_RENDITIONS, Limits())
elif kind == "naive":
    from bench.tasks import naive
    naive(data, [(2048, 1536), (1024, 768), (256, 192)])
# VmHWM: this process image's peak RSS. ru_maxrss would also carry the parent's RSS over fork + exec.
print([int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")][0])
"""


def peak_rss_mib(kind: str, path: Path) -> float:
    """Peak RSS (VmHWM, KiB) of a fresh child that imports and runs ``kind`` once, in MiB."""
    done = subprocess.run(
        [sys.executable, "-c", _RSS_CHILD, kind, str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.split()[-1]) / 1024


def task_d(quick: bool) -> tuple[Fields, Detail]:
    runs: dict[str, list[float]] = {"imgflow": [], "naive": [], "imports": []}
    for _ in range(1 if quick else 3):
        for kind in runs:
            runs[kind].append(peak_rss_mib(kind, B_INPUT))
    peak = {k: max(v) for k, v in runs.items()}
    fields: Fields = {"peak_rss_mib": peak["imgflow"], "ratio_vs_naive": peak["imgflow"] / peak["naive"]}
    return fields, {"peak_rss_mib_max_of_runs": peak, "runs": runs, "input": str(B_INPUT)}


# -- E: the demo machinery over N images -------------------------------------------------------------------
def demo_images(directory: Path, count: int) -> list[Path]:
    """``count`` distinct JPEGs cut from the perf photos (1/2-scale decode, varying crops, EXIF kept)."""
    sources = []
    for path in PHOTOS:
        with Image.open(path) as im:
            exif = im.info.get("exif", b"")
            im.draft("RGB", (im.width // 2, im.height // 2))
            sources.append((im.convert("RGB"), exif))
    files = []
    for i in range(count):
        rgb, exif = sources[i % len(sources)]
        keep = 0.6 + 0.4 * ((i * 37) % 100) / 100
        width, height = int(rgb.width * keep), int(rgb.height * keep)
        left, top = (i * 13) % (rgb.width - width + 1), (i * 7) % (rgb.height - height + 1)
        path = directory / f"perf-{i:03d}.jpg"
        rgb.crop((left, top, left + width, top + height)).save(path, "JPEG", quality=90, exif=exif)
        files.append(path)
    return files


@contextlib.contextmanager
def handler_clock() -> Iterator[list[tuple[str, str, float, float, float]]]:
    """Record every in-process Lambda call: (kind, key, start epoch s, end epoch s, thread CPU s)."""
    from imgflow_tools.local import moto_adapter

    calls: list[tuple[str, str, float, float, float]] = []
    lock = threading.Lock()
    original = moto_adapter.resolve_handler

    def resolve(dotted: str) -> Callable[[Any, Any], Any]:
        handler = original(dotted)

        def clocked(event: Any, context: Any) -> Any:
            if "execution_arn" in event:
                key = ("execution", event["execution_arn"])
            else:
                key = ("image", (event.get("image") or {}).get("id", ""))
            cpu, start = time.thread_time(), time.time()
            try:
                return handler(event, context)
            finally:
                with lock:
                    calls.append((*key, start, time.time(), time.thread_time() - cpu))

        return clocked

    moto_adapter.resolve_handler = resolve
    try:
        yield calls
    finally:
        moto_adapter.resolve_handler = original


def _union(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop > end:
            total += stop - max(start, end)
            end = stop
    return total


#: ``--state``: task E runs with the state persisted (``imgflow serve``'s default) instead of ephemeral.
E_STATE = False


def task_e(quick: bool) -> tuple[Fields, Detail]:
    import requests

    from imgflow_tools.demo import upload_paced, wait_for_records
    from imgflow_tools.local import moto_adapter
    from imgflow_tools.local.cloud import LocalCloud
    from imgflow_tools.local.state import StateStore
    from imgflow_tools.local.state.store import size_on_disk

    count = 20 if quick else 200
    disk: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="imgflow-bench-") as tmp:
        files = demo_images(Path(tmp), count)
        state = StateStore.open(Path(tmp) / "state") if E_STATE else None
        # Powertools flushes buffered metrics with print(): keep this command's stdout to result lines.
        with (
            handler_clock() as calls,
            LocalCloud(state=state) as cloud,
            contextlib.redirect_stdout(sys.stderr),
        ):
            cpu0, started = time.process_time(), time.monotonic()
            with requests.Session() as session:
                uploads = upload_paced(files, cloud, session)
            records = wait_for_records(cloud, uploads, timeout=1800, progress=False)
            if state is not None:
                state.flush(settle_s=0)  # what the run wrote is on disk before the clock stops
            wall, cpu = time.monotonic() - started, time.process_time() - cpu0
        if state is not None:
            disk = size_on_disk(Path(tmp) / "state")
    by_execution: dict[str, list[tuple[float, float]]] = {}
    arn_of_image = {i: r.get("execution_arn", "") for i, r in records.items()}
    for kind, key, start, stop, _cpu in calls:
        arn = key if kind == "execution" else arn_of_image.get(key, "")
        by_execution.setdefault(arn, []).append((start, stop))
    overheads: list[float] = []
    statuses: dict[str, int] = {}
    for record in records.values():
        status = str(record.get("status"))
        statuses[status] = statuses.get(status, 0) + 1
        execution = record.get("_execution")
        if not execution or not execution.get("stopDate"):
            continue
        duration = (execution["stopDate"] - execution["startDate"]).total_seconds()
        overheads.append(duration - _union(by_execution.get(execution["executionArn"], [])))
    handler_cpu = sum(c[4] for c in calls)
    detail: Detail = {
        "images": count,
        "state": disk or None,
        "statuses": statuses,
        "wall_s": wall,
        "process_cpu_s": cpu,
        "handler_cpu_s": handler_cpu,
        "engine_cpu_s_per_image": (cpu - handler_cpu) / count,
        "handler_calls": len(calls),
        "throttled_invocations": dict(moto_adapter.concurrency.throttled),
        "overhead_s": {
            "median": statistics.median(overheads),
            "p90": statistics.quantiles(overheads, n=10)[-1] if len(overheads) > 1 else overheads[0],
            "max": max(overheads),
        },
    }
    # The engine's own cost per image: CPU the process spent outside the task handlers (moto's S3, DynamoDB
    # and Step Functions, the HTTP hops, the demo's uploads and polling), divided by the images. Latency per
    # execution minus handler time ("overhead_s" in the detail) is mostly queueing: 200 runs share 2 cores.
    fields: Fields = {"images_per_s": count / wall, "overhead_s": detail["engine_cpu_s_per_image"]}
    return fields, detail


def write_detail(results: dict[str, Detail], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
