"""Shared fixtures: a temporary data directory, a movable clock, a FakeLLM-backed app."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from os1.app import App
from os1.companion.onboarding import Onboarding
from os1.llm.fake import FakeLLM
from os1.memory.embedding import HashingEmbedder

pytest_plugins = ["tests.server_support"]


class MovableClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 26, 9, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never touch the real data directory or read the developer's OS1_* settings."""
    import os

    for key in list(os.environ):
        if key.startswith("OS1_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("OS1_HOME", str(tmp_path / "default-home"))
    monkeypatch.setenv("TZ", "UTC")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def fake_llm() -> FakeLLM:
    return FakeLLM()


@pytest.fixture
def app(home: Path, clock: MovableClock, fake_llm: FakeLLM) -> Iterator[App]:
    application = App.open(
        home, clock=clock, llm_factory=lambda settings: fake_llm, embedder_factory=HashingEmbedder
    )
    yield application
    application.close()


@pytest.fixture
def onboarded(app: App, fake_llm: FakeLLM) -> App:
    """An app whose companion has been set up (named Iris by the fake model)."""
    fake_llm.enqueue("Iris, because she carried messages between worlds.")
    onboarding = Onboarding()
    onboarding.fill_defaults("Theo", "female")
    app.complete_onboarding(onboarding)
    return app
