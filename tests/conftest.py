"""Shared test settings: never touch the network, keep every write under tmp_path."""

import os
import tempfile

# Before anything imports huggingface_hub: the tests must not wait on a Hub that is not there.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Gradio's uploads, outputs and example cache go here, not into the work tree; one folder for the whole session,
# because the running app only serves files from the folder it started with.
os.environ["GRADIO_TEMP_DIR"] = tempfile.mkdtemp(prefix="genzoo-test-gradio-")

import pytest  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives a real Chromium through Playwright")
    config.addinivalue_line("markers", "slow: launches processes or the whole app")


@pytest.fixture(scope="session")
def app_url():
    """The real app, launched once for the session on a free local port (prevent_thread_lock: it serves from a thread)."""
    import socket

    from app import LAUNCH_OPTIONS, demo

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                **LAUNCH_OPTIONS)
    yield f"http://127.0.0.1:{port}/"
    demo.close()
