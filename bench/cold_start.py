"""App cold start: from `python app.py` to the first sample served through the API, offline.

    python -m bench.cold_start      # prints, writes bench/results/cold_start.json

Target (Foundation issue): <= 10 s. Each run is a fresh process (imports, lazy model load, first request); the
Hub is not disabled by HF_HUB_OFFLINE, so the one-off reachability probe is part of the time, as on an offline
laptop.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import machine, write

ROOT = Path(__file__).resolve().parent.parent
RUNS = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_run() -> dict:
    from gradio_client import Client

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    env.update(GRADIO_SERVER_PORT=str(port), GRADIO_ANALYTICS_ENABLED="False")
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError("app.py exited during start-up")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        listening = time.perf_counter() - start
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        client.predict(0, 1, False, api_name="/dcgan_generate")
        first = time.perf_counter() - start
        client.predict(1, 1, False, api_name="/dcgan_generate")
        warm = time.perf_counter() - start - first
    finally:
        proc.terminate()
        proc.wait(10)
    return {"listening_s": listening, "first_sample_s": first, "second_request_s": warm}


def main() -> dict:
    runs = [one_run() for _ in range(RUNS)]
    result = {"machine": machine(), "target_s": 10.0, "runs": runs,
              "median_first_sample_s": statistics.median(r["first_sample_s"] for r in runs),
              "median_listening_s": statistics.median(r["listening_s"] for r in runs)}
    print(f"cold start, median of {RUNS}: listening after {result['median_listening_s']:.2f} s, first sample served "
          f"after {result['median_first_sample_s']:.2f} s (target <= 10 s)")
    write("cold_start", result)
    return result


if __name__ == "__main__":
    main()
