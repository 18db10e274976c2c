"""``python -m bench [A B C D E F G H S W] [--quick]``: one result line per task (see bench/README.md)."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

from bench import sharp as sharp_setup
from bench import tasks as bench_tasks
from bench.formats import task_f, task_g, task_h, task_w
from bench.sharp import SharpWorker
from bench.similar import task_s
from bench.tasks import CORPUS, PHOTOS, Detail, Fields, task_a, task_b, task_c, task_d, task_e, write_detail

TASKS = ("A", "B", "C", "D", "E", "F", "G", "H", "S", "W")
OTHERS = {
    "C": task_c,
    "D": task_d,
    "E": task_e,
    "F": task_f,
    "G": task_g,
    "H": task_h,
    "S": task_s,
    "W": task_w,
}
ORDER = ("ratio_vs_sharp", "ratio_vs_naive", "peak_rss_mib", "psnr_db", "ssim", "full_decodes")


def line(task: str, fields: Fields) -> str:
    keys = [k for k in ORDER if k in fields] + [k for k in fields if k not in ORDER]
    return " ".join([task] + [f"{k}={_fmt(fields[k])}" for k in keys])


def _fmt(value: float | int) -> str:
    if isinstance(value, int):
        return str(value)
    return f"{value:.4f}" if abs(value) < 1 else f"{value:.2f}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["reprocess"]:  # a bench of its own: python -m bench reprocess [--images N]
        from bench import reprocess

        return reprocess.main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("tasks", nargs="*", choices=[*TASKS, []], metavar="TASK", help="A-H, S, W (all)")
    parser.add_argument("--quick", action="store_true", help="few rounds, 20 images for E: a smoke run")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "last.json")
    parser.add_argument(
        "--state",
        action="store_true",
        help="E: the local stack keeps its state in a temporary folder, as imgflow serve does by default",
    )
    args = parser.parse_args(argv)
    bench_tasks.E_STATE = args.state
    chosen = [t for t in TASKS if t in (args.tasks or TASKS)]
    missing = [str(p) for p in PHOTOS if not p.exists()]
    if missing:
        print(f"bench: perf corpus missing ({CORPUS}; set IMGFLOW_PERF_CORPUS): {missing}", file=sys.stderr)
        return 2
    results: dict[str, Detail] = {
        "meta": {
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "machine": f"{platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()}".strip(),
            "python": sys.version.split()[0],
            "quick": args.quick,
            "load_avg_start": os.getloadavg(),
        }
    }
    print(f"bench: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at start", file=sys.stderr)
    sharp: SharpWorker | None = None
    if {"A", "B"} & set(chosen):
        reason = sharp_setup.setup()
        if reason:
            print(f"bench: sharp skipped ({reason}); ratio_vs_sharp omitted", file=sys.stderr)
        else:
            sharp = SharpWorker()
    try:
        for task in chosen:
            if task == "A":
                fields, detail = task_a(sharp, args.quick)
            elif task == "B":
                fields, detail = task_b(sharp, args.quick)
            else:
                fields, detail = OTHERS[task](args.quick)
            results[task] = {"fields": fields, **detail}
            print(line(task, fields), flush=True)
    finally:
        if sharp:
            sharp.__exit__()
    results["meta"]["load_avg_end"] = os.getloadavg()
    print(f"bench: load average {os.getloadavg()[0]:.1f} at the end", file=sys.stderr)
    write_detail(results, args.out)
    print(f"bench: details in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
