"""Shared test settings: never touch the network, keep every write under tmp_path."""

import os

# Before anything imports huggingface_hub: the tests must not wait on a Hub that is not there.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import pytest  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives a real Chromium through Playwright")
    config.addinivalue_line("markers", "slow: launches processes or the whole app")


@pytest.fixture(autouse=True)
def _gradio_tmp(tmp_path, monkeypatch):
    # Gradio caches examples and uploads under these; keep them out of the work tree.
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
