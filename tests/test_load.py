"""A crowd: 32 gradio_client users at once across tabs. Zero errors, every answer the one that request alone would
get, and the queue that keeps a 2-core Space alive is bounded. Latency numbers are bench/load.py's, not a test's."""

import numpy as np
import pytest
from PIL import Image

from bench.load import MIX, concurrent_calls, request

pytestmark = pytest.mark.slow


def pixels(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def expected(endpoint: str, args: list) -> list[np.ndarray]:
    """What the tab's own function returns for this request, made alone, as pixel arrays."""
    from demos import compare, conditional, dcgan

    if endpoint == "/dcgan_generate":
        return [np.asarray(dcgan.generate(*args).convert("RGB"))]
    if endpoint == "/conditional_class_samples":
        return [np.asarray(conditional.class_samples(*args).convert("RGB"))]
    if endpoint == "/compare_same_seed":
        return [np.asarray(image.convert("RGB")) for image, _ in compare.same_seed(*args)]
    raise AssertionError(endpoint)


def served(endpoint: str, result) -> list[np.ndarray]:
    if endpoint == "/compare_same_seed":
        return [pixels(item["image"]) for item in result]
    return [pixels(result)]


def test_32_concurrent_users_across_tabs_get_their_own_correct_answers(app_url):
    import app

    records = concurrent_calls(app_url, users=32, requests_each=1)
    assert len(records) == 32 and len({r["endpoint"] for r in records}) == len({e for e, _ in MIX}) >= 3
    errors = [f"{r['endpoint']} {r['args']}: {r['error']}" for r in records if r["error"]]
    assert not errors, "\n".join(errors)
    for r in records:
        assert (r["endpoint"], r["args"]) == request(r["number"])
        got, want = served(r["endpoint"], r["result"]), expected(r["endpoint"], r["args"])
        assert len(got) == len(want) and all(g.shape == w.shape and (g == w).all() for g, w in zip(got, want)), \
            f"request {r['number']} ({r['endpoint']} {r['args']}) got another request's answer"
    # Bounded: a fixed number of workers and a waiting line with a maximum, not an unbounded backlog.
    assert app.demo._queue.max_size == 64 and 1 <= app.demo._queue.default_concurrency_limit <= 4
