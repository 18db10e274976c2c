"""A real ``imgflow serve`` (its own process, port 0) and HTTP clients for it (tests/support/served.py).

One server per test process (session fixture): with ``-n 2 --dist loadfile`` each worker that runs a file of
this folder starts its own. Its own process keeps moto's in-process state and ``os.environ`` away from the
workflow tests' LocalCloud.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.served import Stack, serving_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with serving_stack(tmp_path_factory.mktemp("imgflow-state")) as served:
        yield served
