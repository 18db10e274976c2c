"""The operator tools' connector: a wrong --endpoint fails with one attempt and a one-line message."""

from __future__ import annotations

import socket
import threading

import pytest

from imgflow_tools.ops import stack as stacks


def test_a_wrong_endpoint_is_reported_after_one_attempt() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted: list[int] = []

    def hang_up() -> None:  # accepts each connection and closes it: not an imgflow stack
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(1)
            conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.getsockname()[1]}"
    try:
        with pytest.raises(stacks.StackNotFound, match=f"no imgflow stack answers at {endpoint}"):
            stacks.local(endpoint)
    finally:
        server.close()
    assert len(accepted) == 1  # the operator tools' own client retries 10 times; the probe must not
