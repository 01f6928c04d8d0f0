"""Shared fixtures: the fake provider server (see tests/fake_server.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests import helpers as `from fake_server import ...`

from fake_server import FakeProviderServer


@pytest.fixture
def fake_server() -> Iterator[FakeProviderServer]:
    """A running :class:`FakeProviderServer` (default behaviour ``"ok"``), stopped after the test."""
    with FakeProviderServer() as server:
        yield server
