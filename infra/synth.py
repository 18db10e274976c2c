"""``python -m infra.synth``: synthesize the whole system without AWS to cdk.out/ with cdk-nag on.

No AWS credentials, no Docker: Lambda code is bundled by pip on this machine, from manylinux wheels it
downloads from PyPI (so bundling needs the package registry; ``--no-bundling`` needs nothing).
Extra context as with the CLI: ``python -m infra.synth -c stage=prod -c existingBucketName=my-bucket``.
Exits non-zero on any cdk-nag error (CDK prints each finding and writes cdk.out/validation-report.json).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from infra.app import build_app


def parse_context(pairs: list[str]) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"-c expects key=value, got {pair!r}")
        context[key] = value
    return context


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-o", "--outdir", default="cdk.out")
    parser.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--no-bundling", action="store_true", help="skip Lambda bundling (faster; templates are the same)"
    )
    args = parser.parse_args(argv)
    context = parse_context(args.context)
    if args.no_bundling:
        context["aws:cdk:bundling-stacks"] = []
    started = time.monotonic()
    try:
        app, stack = build_app(context, args.outdir)
    except ValueError as exc:  # a mistyped or invalid context value: one line, no traceback
        print(f"synth: {exc}", file=sys.stderr)
        return 2
    try:
        assembly = app.synth()
    except RuntimeError as exc:  # cdk-nag (or another validation plugin) found errors
        print(f"synth failed: {exc}", file=sys.stderr)
        return 1
    for artifact in assembly.stacks:
        print(f"{artifact.stack_name}: {artifact.template_full_path}")
    print(
        f"synthesized {stack.stack_name} to {args.outdir}/ with cdk-nag in {time.monotonic() - started:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
