"""``python -m tests.fuzz --cases 100000 --seed 7``: a long fuzz run; exit status 1 on any finding.

Findings are written to ``--out`` (one file per failing input, named by case) so they can be replayed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from tests.fuzz.engine import run
from tests.support.paths import CORPUS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="seed files (default: the shared corpus)")
    parser.add_argument(
        "--budget-s",
        type=float,
        default=None,
        help="time budget per task and case (default: a quarter of the task's Lambda timeout)",
    )
    parser.add_argument("--service-every", type=int, default=25, help="every Nth case also through moto S3")
    parser.add_argument(
        "--render-every", type=int, default=2, help="every Nth case that validate accepts also through resize"
    )
    parser.add_argument("--out", type=Path, default=Path("fuzz-findings"))
    parser.add_argument("--report", type=Path, help="also write the report as JSON here")
    args = parser.parse_args(argv)
    print(f"fuzz: seed={args.seed} cases={args.cases} corpus={args.corpus}", flush=True)
    started = time.monotonic()
    report = run(
        cases=args.cases,
        seed=args.seed,
        corpus=args.corpus,
        budget_s=args.budget_s,
        service_every=args.service_every,
        render_every=args.render_every,
        progress=lambda n: print(f"  {n} cases, {time.monotonic() - started:.0f} s", flush=True),
    )
    print(report.summary())
    print(f"wall_s={time.monotonic() - started:.1f}")
    if args.report:
        args.report.write_text(json.dumps(report.as_json(), indent=1))
    if report.findings:
        args.out.mkdir(parents=True, exist_ok=True)
        for finding in report.findings:
            (args.out / f"case{finding.case}-{finding.task}.bin").write_bytes(finding.data)
        print(f"inputs of the findings in {args.out}/")
    return 1 if report.findings else 0


if __name__ == "__main__":
    sys.exit(main())
