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


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """The real app, launched once for the session on a free local port (prevent_thread_lock: it serves from a thread)."""
    import socket

    os.environ["GRADIO_TEMP_DIR"] = str(tmp_path_factory.mktemp("gradio-app"))
    from app import demo

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()
