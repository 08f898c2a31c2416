"""Integration fixtures: the real embedded model, assembled once per test session."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from os1.config import load_settings
from os1.llm.embedded_model import embedded_model_path


@pytest.fixture(scope="session")
def embedded_gguf() -> Path:
    settings = load_settings(Path(tempfile.gettempdir()), environ={})
    return embedded_model_path(settings.models_path())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
