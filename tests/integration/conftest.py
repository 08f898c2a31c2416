"""Integration fixtures: the real embedded model, assembled once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from os1.config import load_settings
from os1.llm.embedded_model import embedded_model_path


@pytest.fixture(scope="session")
def embedded_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The assembled embedded model, in the user's model cache as `os1` itself uses it."""
    settings = load_settings(tmp_path_factory.mktemp("empty-home"), environ={})
    return embedded_model_path(settings.models_path())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
