"""``python -m bench reprocess [--images N]``: reprocessing N stored images on the local stack.

Stores N images through the real ingest workflow (small JPEGs: the point is the engine, not Pillow), then
times one ``reprocess --mode all`` run over them (Select -> Distributed Map of N ingest runs -> Summarize):
images/s, and the local engine's own CPU per image (process CPU minus the CPU inside the task handlers).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
from pathlib import Path

from PIL import Image

from bench.tasks import handler_clock

#: Uploads in flight while storing the images (the reprocess Map's default MaxConcurrency).
BATCH = 20


def _jpeg(i: int) -> bytes:
    buf = io.BytesIO()
    size = (320 + (i % 7) * 16, 240 + (i % 5) * 16)
    Image.linear_gradient("L").resize(size).convert("RGB").save(buf, "JPEG", quality=85)
    return buf.getvalue()


def run(count: int) -> dict[str, float | int | dict[str, int]]:
    from imgflow import keys
    from imgflow.records import ImageRepository
    from imgflow_tools.local import moto_adapter
    from imgflow_tools.local.cloud import LocalCloud
    from imgflow_tools.ops import reprocess
    from imgflow_tools.ops import stack as stacks

    with (
        moto_adapter.time_scale(0.001),
        handler_clock() as calls,
        LocalCloud() as cloud,
        contextlib.redirect_stdout(sys.stderr),
    ):
        s3 = cloud.client("s3")
        started = time.monotonic()
        for i in range(count):
            s3.put_object(
                Bucket=cloud.settings.uploads_bucket,
                Key=keys.upload_key("bench", keys.new_image_id()),
                Body=_jpeg(i),
            )
            if i % BATCH == BATCH - 1:  # as many at once as the reprocess Map runs: no local Lambda timeouts
                cloud.wait_for_executions(i + 1, timeout=3600)
        cloud.wait_for_executions(count, timeout=3600)
        ingest_wall = time.monotonic() - started
        records = ImageRepository(cloud.settings.table_name)
        stored = sum(1 for _ in records.iter_by_owner("bench"))
        calls.clear()
        stack = stacks.local(cloud.endpoint)
        cpu0, started = time.process_time(), time.monotonic()
        summary = reprocess.run(stack, {"mode": "all", "owner": "bench"})
        wall, cpu = time.monotonic() - started, time.process_time() - cpu0
        handler_cpu = sum(c[4] for c in calls)
    ran = max(1, int(summary.get("started", 0)) + int(summary.get("already_running", 0)))
    return {
        "images": count,
        "stored": stored,
        "reprocessed": ran,
        "images_per_s": ran / wall,
        "wall_s": wall,
        "overhead_s": (cpu - handler_cpu) / ran,
        "handler_cpu_s_per_image": handler_cpu / ran,
        "ingest_images_per_s": count / ingest_wall,
        "summary": {k: summary.get(k, 0) for k in reprocess.SUMMARY_KEYS},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench reprocess", description=__doc__)
    parser.add_argument("--images", type=int, default=500, help="stored images to reprocess (default 500)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "reprocess.json")
    args = parser.parse_args(argv)
    result = run(args.images)
    print(
        f"R images={result['reprocessed']} images_per_s={result['images_per_s']:.2f} "
        f"overhead_s={result['overhead_s']:.4f} handler_cpu_s={result['handler_cpu_s_per_image']:.4f} "
        f"wall_s={result['wall_s']:.1f} succeeded={result['summary']['succeeded']}",  # type: ignore[index]
        flush=True,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), **result}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
