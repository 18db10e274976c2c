"""Tasks F, G, H, W: HEIC in, 200 MP in, cold start, and the output formats' bytes at equal quality."""

from __future__ import annotations

import functools
import io
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

from bench.measure import Timed, interleave, timed
from bench.quality import compare, luma, ssim
from bench.tasks import B_INPUT, LANCZOS, REPO, Detail, Fields, imgflow_render, sizes_of
from imgflow.config import DEFAULT_RENDITIONS
from imgflow.image.opening import _ensure_heif

OUT = Path(__file__).parent / "out"
#: The handlers a cold start imports (module per Lambda function).
HANDLERS = {
    "validate": "tasks.validate.handler",
    "resize": "tasks.resize.handler",
    "extract_meta": "tasks.extract_meta.handler",
    "record": "tasks.record.handler",
    "api": "api.handler",
}
#: H's reference (``floor_ms``): the libraries every handler imports, without imgflow's code.
FLOOR = "bench.cold_floor"


def heic_input() -> Path:
    """B's 12 MP photo as an iPhone-like HEIC (q80, EXIF kept), encoded once and kept in bench/out/."""
    path = OUT / f"{B_INPUT.stem}.heic"
    if not path.exists() or path.stat().st_mtime < B_INPUT.stat().st_mtime:
        _ensure_heif()
        OUT.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        with Image.open(B_INPUT) as im:
            exif = im.info.get("exif", b"")
            # x265's fastest preset: encoding 12 MP takes minutes otherwise; decode cost is what F measures.
            im.convert("RGB").save(partial, "HEIF", quality=80, exif=exif, enc_params={"preset": "ultrafast"})
        partial.replace(path)
    return path


def naive_heic(data: bytes, sizes: list[tuple[int, int]]) -> list[bytes]:
    """A naive pillow-heif pipeline: a full decode per rendition, Lanczos from full size, JPEG q80."""
    outputs = []
    for size in sizes:
        with Image.open(io.BytesIO(data)) as im:
            rgb = im.convert("RGB")
        buffer = io.BytesIO()
        rgb.resize(size, LANCZOS).save(buffer, "JPEG", quality=80)
        outputs.append(buffer.getvalue())
    return outputs


_RSS_CHILD = """
import sys
from imgflow.config import DEFAULT_RENDITIONS, Limits
from tasks.resize.renditions import render
from tasks.validate.checks import validate_image
data = open(sys.argv[1], "rb").read() if sys.argv[1] != "200mp" else None
if data is None:
    from imgflow_tools.samples import solid_jpeg
    data = solid_jpeg(16320, 12240)
import time
start = time.perf_counter()
validate_image(data, Limits())
render(data, DEFAULT_RENDITIONS, Limits())
elapsed = time.perf_counter() - start
hwm = [int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
print(hwm, elapsed)
"""


def child_peak(source: str) -> tuple[float, float]:
    """(peak RSS MiB, seconds) of validate + render of ``source`` in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", _RSS_CHILD, source], cwd=REPO, capture_output=True, text=True, check=True
    )
    hwm, elapsed = done.stdout.split()[-2:]
    return int(hwm) / 1024, float(elapsed)


def task_f(quick: bool) -> tuple[Fields, Detail]:
    """HEIC 12 MP -> the default renditions, vs a naive pillow-heif pipeline and vs the same photo as JPEG."""
    heic = heic_input()
    data, jpeg = heic.read_bytes(), B_INPUT.read_bytes()
    ours = imgflow_render(data, DEFAULT_RENDITIONS)
    sizes = sizes_of(ours)
    psnr_db, ssim_value, _ = compare(ours, naive_heic(data, sizes))
    samples = interleave(
        {
            "imgflow": lambda: timed(lambda: imgflow_render(data, DEFAULT_RENDITIONS)),
            "naive": lambda: timed(lambda: naive_heic(data, sizes)),
            "imgflow_jpeg": lambda: timed(lambda: imgflow_render(jpeg, DEFAULT_RENDITIONS)),
        },
        *((1, 2) if quick else (3, 3)),
    )
    peaks = [child_peak(str(heic))[0] for _ in range(1 if quick else 2)]
    fields: Fields = {
        "ratio_vs_naive": samples.ratio("imgflow", "naive")[0],
        "ratio_vs_jpeg": samples.ratio("imgflow", "imgflow_jpeg")[0],
        "peak_rss_mib": max(peaks),
        "psnr_db": psnr_db,
        "ssim": ssim_value,
    }
    detail: Detail = {
        "input": str(heic),
        "bytes": len(data),
        "sizes": sizes,
        "wall_ms": {n: samples.median(n, 0) for n in samples.blocks},
        "cpu_ms": {n: samples.median(n, 1) for n in samples.blocks},
        "cpu_ratio_vs_naive": samples.ratio("imgflow", "naive", 1),
        "peak_rss_mib_runs": peaks,
    }
    return fields, detail


def task_g(quick: bool) -> tuple[Fields, Detail]:
    """A 200 MP JPEG (16320x12240, baseline 4:2:0, low entropy) through validate + the default renditions."""
    runs = [child_peak("200mp") for _ in range(1 if quick else 2)]
    fields: Fields = {
        "peak_rss_mib": max(r[0] for r in runs),
        "wall_s": statistics.median(r[1] for r in runs),
    }
    return fields, {"runs": runs, "input": "imgflow_tools.samples.solid_jpeg(16320, 12240)"}


_IMPORT_CHILD = """
import sys, time
start, cpu = time.perf_counter(), time.process_time()
__import__(sys.argv[1])
print((time.process_time() - cpu) * 1000, (time.perf_counter() - start) * 1000)
"""


def import_ms(module: str) -> tuple[float, float]:
    """(CPU ms, wall ms) of importing ``module`` in a fresh interpreter."""
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_CHILD, module],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    cpu_ms, wall_ms = done.stdout.split()[-2:]
    return float(cpu_ms), float(wall_ms)


def task_h(quick: bool) -> tuple[Fields, Detail]:
    """Cold start: each handler imported in a fresh interpreter (bytecode cached), median of N rounds.

    The figure is the import's CPU time (what it costs on a vCPU of its own): on a shared, loaded machine the
    wall time measures the queue for a core. Wall times are in the detail.
    """
    rounds = 3 if quick else 7
    modules = {**HANDLERS, "floor": FLOOR}
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in modules}
    for module in modules.values():
        import_ms(module)  # write the bytecode caches first
    for _ in range(rounds):
        for name, module in modules.items():
            runs[name].append(import_ms(module))
    cpu = {name: statistics.median(r[0] for r in v) for name, v in runs.items()}
    wall = {name: statistics.median(r[1] for r in v) for name, v in runs.items()}
    fields: Fields = {"max_ms": max(ms for name, ms in cpu.items() if name in HANDLERS)}
    fields.update({f"{name}_ms": ms for name, ms in cpu.items()})
    return fields, {"runs_cpu_wall_ms": runs, "wall_ms": wall, "load_avg": os.getloadavg()}


def _encode(img: Image.Image, fmt: str, quality: int) -> bytes:
    buffer = io.BytesIO()
    options = {"speed": 8} if fmt == "AVIF" else {}
    img.save(buffer, fmt, quality=quality, **options)
    return buffer.getvalue()


def _timed_encode(img: Image.Image, fmt: str, quality: int) -> Timed:
    return timed(lambda: _encode(img, fmt, quality))


def task_w(quick: bool) -> tuple[Fields, Detail]:
    """A 1024-px rendition as JPEG, WebP and AVIF at equal luma SSIM (JPEG q80's): bytes, encode ms."""
    with Image.open(B_INPUT) as im:
        im.draft("RGB", (2048, 1536))
        source = im.convert("RGB").resize((1024, 768), LANCZOS)
    buffer = io.BytesIO()
    source.save(buffer, "PNG")
    reference = luma(buffer.getvalue())
    target = ssim(luma(_encode(source, "JPEG", 80)), reference)
    chosen: dict[str, tuple[int, float, bytes]] = {"JPEG": (80, target, _encode(source, "JPEG", 80))}
    for fmt in ("WEBP", "AVIF"):
        low, high, best = 1, 100, None
        while low <= high:  # the lowest quality whose SSIM reaches JPEG q80's
            quality = (low + high) // 2
            data = _encode(source, fmt, quality)
            score = ssim(luma(data), reference)
            if score >= target:
                best, high = (quality, score, data), quality - 1
            else:
                low = quality + 1
        chosen[fmt] = best or (100, score, data)
    samples = interleave(
        {fmt: functools.partial(_timed_encode, source, fmt, q) for fmt, (q, _, _) in chosen.items()},
        *((1, 3) if quick else (3, 5)),
    )
    fields: Fields = {"ssim": target}
    for fmt, (quality, _, data) in chosen.items():
        key = fmt.lower()
        fields[f"{key}_bytes"] = len(data)
        fields[f"{key}_ms"] = samples.median(fmt, 0)
        fields[f"{key}_q"] = quality
    detail: Detail = {
        "size": source.size,
        "ssim": {fmt: s for fmt, (_, s, _) in chosen.items()},
        "cpu_ms": {fmt: samples.median(fmt, 1) for fmt in chosen},
        "time": time.strftime("%H:%M:%S"),
    }
    return fields, detail
