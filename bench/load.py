"""The app under load: p50/p95 latency of fast endpoints for 1, 8 and 32 concurrent gradio_client users.

    python -m bench.load      # prints, writes bench/results/load.json

The app runs in this process (as tests/conftest.py launches it) with its own bounded queue (app.py: concurrency
GENZOO_CONCURRENCY, default 2 workers, at most 64 waiting). Each user is a thread with its own Client that sends
`REQUESTS` requests back to back, cycling through MIX (endpoints of several tabs that answer in tens of ms), so
latency at 32 users is mostly time spent waiting in the queue: the number a crowd on a 2-core Space sees.
"""

from __future__ import annotations

import socket
import statistics
import threading
import time

from bench.common import machine, write

# (api_name, arguments): fast endpoints of several tabs; the seed argument is replaced per request
MIX = [("/dcgan_generate", [0, 16, False]), ("/conditional_class_samples", ["cgan", "3", 0, 8]),
       ("/dcgan_generate", [0, 64, True]), ("/compare_same_seed", [0, 1, "mnist"])]
SEED_ARGUMENT = {"/dcgan_generate": 0, "/conditional_class_samples": 2, "/compare_same_seed": 0}
REQUESTS = 4
USERS = (1, 8, 32)


def request(i: int) -> tuple[str, list]:
    """Request number i of the mix, with seed i so concurrent answers differ and can be checked one by one."""
    endpoint, args = MIX[i % len(MIX)]
    args = list(args)
    args[SEED_ARGUMENT[endpoint]] = i
    return endpoint, args


def concurrent_calls(url: str, users: int, requests_each: int) -> list[dict]:
    """`users` threads, each with its own Client, each sending `requests_each` requests of the mix in turn.
    Returns one record per request: number, endpoint, arguments, latency in s, result or error."""
    from gradio_client import Client

    records, lock = [], threading.Lock()
    # A generous read timeout: at 32 users most of a latency is queueing, which is what is measured, not an error.
    clients = [Client(url, verbose=False, httpx_kwargs={"timeout": 300}) for _ in range(users)]
    start = threading.Barrier(users)

    def user(u: int):
        start.wait()  # every user starts at once: the burst is the point
        for k in range(requests_each):
            number = u * requests_each + k
            endpoint, args = request(number)
            t0, result, error = time.perf_counter(), None, None
            try:
                result = clients[u].predict(*args, api_name=endpoint)
            except Exception as exc:  # recorded, not raised: a load test counts errors
                error = f"{type(exc).__name__}: {exc}"
            with lock:
                records.append(dict(number=number, endpoint=endpoint, args=args, seconds=time.perf_counter() - t0,
                                    result=result, error=error))

    threads = [threading.Thread(target=user, args=(u,)) for u in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(records, key=lambda r: r["number"])


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def main() -> dict:
    from app import LAUNCH_OPTIONS, demo

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **LAUNCH_OPTIONS)
    url = f"http://127.0.0.1:{port}/"
    try:
        concurrent_calls(url, 2, len(MIX))  # warm-up: lazy model loads, first-call allocations
        rows = []
        for users in USERS:
            t0 = time.perf_counter()
            records = concurrent_calls(url, users, REQUESTS)
            wall = time.perf_counter() - t0
            latencies = [r["seconds"] for r in records if r["error"] is None]
            rows.append(dict(users=users, requests=len(records), errors=sum(r["error"] is not None for r in records),
                             p50_s=statistics.median(latencies), p95_s=percentile(latencies, 95),
                             requests_per_s=len(records) / wall))
            print(f"{users:3d} users x {REQUESTS} requests: p50 {rows[-1]['p50_s'] * 1e3:7.0f} ms, p95 "
                  f"{rows[-1]['p95_s'] * 1e3:7.0f} ms, {rows[-1]['requests_per_s']:.1f} requests/s, "
                  f"{rows[-1]['errors']} errors")
    finally:
        demo.close()
    result = {"machine": machine(), "mix": MIX, "requests_per_user": REQUESTS, "rows": rows,
              "queue": {"workers": demo._queue.default_concurrency_limit, "max_size": demo._queue.max_size}}
    write("load", result)
    return result


if __name__ == "__main__":
    main()
