"""A burst of uploads in AWS, on paper: a discrete-event model of the ingest workflow under Lambda throttling.

    python -m bench.burst_model                        # 10,000 uploads at once, the deployed settings
    python -m bench.burst_model --images 2000 --concurrency 20 --resize-s 0.75
    python -m bench.burst_model --compare              # the designs side by side (docs/operations.md)

What it models (AWS quotas as documented for us-east-1; every figure is an option):
- upload events start executions through EventBridge; StartExecution is a token bucket (1,300 burst, 300/s
  refill); a throttled start is retried by the rule's target (modelled as waiting for a token).
- each execution runs Claim -> Validate -> Parallel(Resize, ExtractMeta) -> RecordProcessed; the image tasks
  have a reserved concurrency; an invocation over it is refused (Lambda.TooManyRequestsException) and retried
  by the Retry that statemachine/ingest.asl.json declares for that error (read from the file), full jitter.
- a first invocation of each concurrent slot pays a cold start.
- billed state transitions = states entered + retries (Step Functions bills every retry as a transition).

The alternative design (``--admission K``): a queue in front of the workflow that keeps at most K executions
in flight (SQS + a starter that waits for a slot); no throttling when K <= the reserved concurrency.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from imgflow.workflow import asl

THROTTLE = "Lambda.TooManyRequestsException"
#: Standard workflows, us-east-1, us-west-2, eu-west-1 (other regions: 800 / 150).
START_BUCKET, START_REFILL_PER_S = 1300, 300.0
#: us-east-1 list prices (bench/README.md, cost note).
PRICE_TRANSITION = 0.025 / 1000
PRICE_LAMBDA_GB_S_ARM = 0.0000133334
PRICE_LAMBDA_REQUEST = 0.20 / 1_000_000
PRICE_SQS_REQUEST = 0.40 / 1_000_000
#: Per image, from the cost note: 4 PUT-class + 4 GET-class S3 requests, ~4 DynamoDB write units.
PRICE_S3_DYNAMODB_PER_IMAGE = 4 * 0.005 / 1000 + 4 * 0.0004 / 1000 + 4 * 0.625 / 1_000_000


@dataclass(frozen=True)
class RetryPolicy:
    interval_s: float
    max_attempts: int
    backoff: float
    max_delay_s: float
    full_jitter: bool

    def delay(self, attempt: int, rng: random.Random) -> float:
        """The wait before retry number ``attempt`` (0-based)."""
        base = min(self.interval_s * self.backoff**attempt, self.max_delay_s)
        return rng.uniform(0, base) if self.full_jitter else base

    @classmethod
    def from_asl(cls, state: str = "Validate") -> RetryPolicy:
        """The Retry that matches Lambda.TooManyRequestsException in ``state`` of the ingest definition."""
        definition = json.loads(asl.definition_text())
        found = _find_state(definition["States"], state)
        for retrier in found.get("Retry", []):
            if THROTTLE in retrier["ErrorEquals"] or "States.ALL" in retrier["ErrorEquals"]:
                return cls(
                    interval_s=float(retrier.get("IntervalSeconds", 1)),
                    max_attempts=int(retrier.get("MaxAttempts", 3)),
                    backoff=float(retrier.get("BackoffRate", 2.0)),
                    max_delay_s=float(retrier.get("MaxDelaySeconds", 31622401)),
                    full_jitter=retrier.get("JitterStrategy") == "FULL",
                )
        return cls(1, 0, 2, 1, False)

    def __str__(self) -> str:
        return (
            f"Interval {self.interval_s:g}s x{self.backoff:g} up to {self.max_delay_s:g}s, "
            f"{self.max_attempts} attempts{', full jitter' if self.full_jitter else ''}"
        )


def _find_state(states: dict[str, Any], name: str) -> dict[str, Any]:
    for key, state in states.items():
        if key == name:
            return state
        for branch in state.get("Branches", []):
            try:
                return _find_state(branch["States"], name)
            except KeyError:
                pass
    raise KeyError(name)


@dataclass
class Function:
    name: str
    duration_s: float
    memory_gb: float
    limit: int | None  # reserved concurrency (None: the account pool, not modelled as a limit)
    in_flight: int = 0
    warm: int = 0
    peak: int = 0
    throttled: int = 0
    invocations: int = 0
    gb_s: float = 0.0


@dataclass
class Scenario:
    images: int = 10_000
    concurrency: int = 20
    validate_s: float = 0.15
    resize_s: float = 0.75
    extract_s: float = 0.10
    record_s: float = 0.08
    cold_start_s: float = 1.0
    #: The queue-in-front alternative: at most this many executions in flight (None: start all at once).
    admission: int | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy.from_asl)
    seed: int = 1


@dataclass
class Result:
    images: int
    drain_s: float
    peak_in_flight: int
    failed: int
    throttled: int
    transitions: int
    max_transitions: int
    wait_p50_s: float
    wait_max_s: float
    cost: dict[str, float]

    @property
    def transitions_per_image(self) -> float:
        return self.transitions / self.images


def simulate(s: Scenario) -> Result:
    """Run the model; times are seconds after the burst landed."""
    rng = random.Random(s.seed)
    fns = {
        "record": Function("record", s.record_s, 0.25, None),
        "validate": Function("validate", s.validate_s, 1.0, s.concurrency),
        "resize": Function("resize", s.resize_s, 1.769, s.concurrency),
        "extract_meta": Function("extract_meta", s.extract_s, 0.5, s.concurrency),
    }
    events: list[tuple[float, int, str, int, Any]] = []
    order = iter(range(1 << 62))

    def at(t: float, kind: str, image: int, data: Any = None) -> None:
        heapq.heappush(events, (t, next(order), kind, image, data))

    transitions = [0] * s.images
    retries = [0] * s.images
    branches_left = [0] * s.images
    failed = 0
    finished: list[float] = []
    in_flight = peak_in_flight = 0
    admitted = 0
    waiting: list[int] = []

    def start(image: int, t: float) -> None:
        """StartExecution: the n-th start needs the bucket's n-th token (1,300 at once, then 300/s)."""
        nonlocal in_flight, peak_in_flight, admitted
        t = max(t, (admitted - START_BUCKET + 1) / START_REFILL_PER_S)
        admitted += 1
        in_flight += 1
        peak_in_flight = max(peak_in_flight, in_flight)
        at(t, "state", image, ("Claim", "record", 0))

    for image in range(s.images):
        if s.admission is None or image < s.admission:
            at(0.0, "start", image)
        else:
            waiting.append(image)
    waiting.reverse()

    def end(image: int, t: float, ok: bool) -> None:
        nonlocal in_flight, failed
        in_flight -= 1
        finished.append(t)
        if not ok:
            failed += 1
        if waiting:
            at(t + 0.02, "start", waiting.pop())  # the starter's reaction time

    nxt = {"Claim": "Validate", "Validate": "Process", "RecordProcessed": "Processed"}
    while events:
        t, _, kind, image, data = heapq.heappop(events)
        if kind == "start":
            start(image, t)
        elif kind == "state":
            state, fn_name, attempt = data
            if attempt == 0:
                transitions[image] += 1
            else:
                transitions[image] += 1  # a retry is billed as a transition
                retries[image] += 1
            fn = fns[fn_name]
            if fn.limit is not None and fn.in_flight >= fn.limit:
                fn.throttled += 1
                if attempt >= s.policy.max_attempts:
                    transitions[image] += 2  # RecordFailed, Failed
                    end(image, t + s.record_s, ok=False)
                    continue
                at(t + s.policy.delay(attempt, rng), "state", image, (state, fn_name, attempt + 1))
                continue
            fn.in_flight += 1
            fn.peak = max(fn.peak, fn.in_flight)
            duration = fn.duration_s
            if fn.warm < fn.in_flight:
                fn.warm += 1
                duration += s.cold_start_s
            fn.invocations += 1
            fn.gb_s += duration * fn.memory_gb
            at(t + duration, "done", image, (state, fn_name))
        elif kind == "done":
            state, fn_name = data
            fns[fn_name].in_flight -= 1
            if state == "Validate":
                transitions[image] += 1  # the Parallel state
                branches_left[image] = 2
                at(t, "state", image, ("Resize", "resize", 0))
                at(t, "state", image, ("ExtractMeta", "extract_meta", 0))
            elif state in ("Resize", "ExtractMeta"):
                branches_left[image] -= 1
                if branches_left[image] == 0:
                    at(t, "state", image, ("RecordProcessed", "record", 0))
            elif state == "RecordProcessed":
                transitions[image] += 1  # Processed
                end(image, t, ok=True)
            else:
                at(t, "state", image, (nxt[state], _fn_of(nxt[state]), 0))

    total_transitions = sum(transitions)
    lambda_requests = sum(f.invocations + f.throttled for f in fns.values())
    waits = sorted(finished[i] - 0.0 for i in range(len(finished)))
    cost = {
        "step_functions": total_transitions * PRICE_TRANSITION,
        "lambda": sum(f.gb_s for f in fns.values()) * PRICE_LAMBDA_GB_S_ARM
        + sum(f.invocations for f in fns.values()) * PRICE_LAMBDA_REQUEST,
        "s3_dynamodb": s.images * PRICE_S3_DYNAMODB_PER_IMAGE,
    }
    if s.admission is not None:
        # SendMessage + ReceiveMessage + DeleteMessage per image; a starter invocation per image.
        cost["queue"] = s.images * 3 * PRICE_SQS_REQUEST + s.images * PRICE_LAMBDA_REQUEST
    del lambda_requests
    return Result(
        images=s.images,
        drain_s=max(finished),
        peak_in_flight=peak_in_flight,
        failed=failed,
        throttled=sum(f.throttled for f in fns.values()),
        transitions=total_transitions,
        max_transitions=max(transitions),
        wait_p50_s=waits[len(waits) // 2],
        wait_max_s=waits[-1],
        cost=cost,
    )


def _fn_of(state: str) -> str:
    return {"Validate": "validate", "Process": "", "RecordProcessed": "record"}.get(state, "record")


def describe(label: str, r: Result) -> str:
    return (
        f"{label:<34} drain_s={r.drain_s:7.0f} peak_in_flight={r.peak_in_flight:6d} failed={r.failed:5d} "
        f"throttled={r.throttled:7d} transitions/image={r.transitions_per_image:5.1f} "
        f"(max {r.max_transitions}) sfn=${r.cost['step_functions']:.2f} "
        f"total=${sum(r.cost.values()):.2f}"
    )


def compare(images: int, concurrency: int, resize_s: float) -> Iterator[str]:
    """The designs side by side for one burst."""
    base = Scenario(images=images, concurrency=concurrency, resize_s=resize_s)
    old = RetryPolicy(1, 4, 2, 20, True)  # the Retry before issue 12 (throttles shared the transient Retry)
    yield describe("before: 4 attempts, <= 20 s", simulate(_with(base, policy=old)))
    yield describe(f"throttle Retry: {base.policy}", simulate(base))
    for max_delay in (30, 120):
        policy = RetryPolicy(base.policy.interval_s, base.policy.max_attempts, base.policy.backoff,
                             max_delay, True)  # fmt: skip
        yield describe(f"  same, MaxDelaySeconds {max_delay}", simulate(_with(base, policy=policy)))
    yield describe(f"queue, {concurrency} executions in flight", simulate(_with(base, admission=concurrency)))
    yield describe(
        f"queue, {4 * concurrency} in flight + throttle Retry",
        simulate(_with(base, admission=4 * concurrency)),
    )


def _with(s: Scenario, **changes: Any) -> Scenario:
    return Scenario(**{**s.__dict__, **changes})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.burst_model", description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=20, help="reserved concurrency of the image tasks")
    parser.add_argument("--resize-s", type=float, default=0.75, help="resize duration with its S3 I/O")
    parser.add_argument("--admission", type=int, default=None, help="a queue keeping K executions in flight")
    parser.add_argument("--compare", action="store_true", help="the designs side by side")
    args = parser.parse_args(argv)
    if args.compare:
        for line in compare(args.images, args.concurrency, args.resize_s):
            print(line)
        return 0
    scenario = Scenario(
        images=args.images, concurrency=args.concurrency, resize_s=args.resize_s, admission=args.admission
    )
    print(describe(str(scenario.policy), simulate(scenario)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
