"""Fixtures for the runtime tests: loopback servers replaying hand-written engine replies."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.runtimes.fixtures.loopback import Loopback, Routes, loopback_servers


@pytest.fixture
def loopback() -> Iterator[Callable[[Routes], Loopback]]:
    """`loopback(routes)` starts a server on 127.0.0.1; all are stopped after the test."""
    yield from loopback_servers()
