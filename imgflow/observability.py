"""Powertools Logger, Tracer and Metrics shared by every handler (one service name: imgflow).

The X-Ray SDK (~40% of a handler's import time) is imported on the tracer's first use, not at import: the
Tracer gets a provider that loads ``aws_xray_sdk.core`` when a traced call first runs, then patches the AWS
SDK and configures streaming as Powertools would (``auto_patch`` and its X-Ray set-up need the real recorder).
With tracing on (AWS), the cost moves from the init phase into the first invocation; with tracing off (local
mode, tests, ``POWERTOOLS_TRACE_DISABLED``) it is paid once, by the first call, and never by an import.
"""

from __future__ import annotations

import threading
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer


class LazyXRayProvider:
    """Stands in for ``aws_xray_sdk.core.xray_recorder`` until an attribute of it is first needed."""

    def __init__(self) -> None:
        self._recorder: Any = None
        self._lock = threading.Lock()
        self.tracer: Tracer | None = None

    def _load(self) -> Any:
        with self._lock:
            if self._recorder is None:
                from aws_xray_sdk.core import patch, patch_all, xray_recorder

                xray_recorder.patch, xray_recorder.patch_all = patch, patch_all
                if self.tracer is not None and not self.tracer.disabled:
                    patch_all()  # what Tracer(auto_patch=True) does at init
                    xray_recorder.configure(streaming_threshold=0)
                self._recorder = xray_recorder
        return self._recorder

    @property
    def loaded(self) -> bool:
        return self._recorder is not None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._load(), name)


logger = Logger(service="imgflow")
_provider = LazyXRayProvider()
tracer = Tracer(service="imgflow", provider=_provider, auto_patch=False)  # type: ignore[arg-type]
_provider.tracer = tracer
metrics = Metrics(namespace="imgflow", service="imgflow")
