"""An open-loop load generator: requests at a fixed rate, latency from each one's scheduled send
time, so a stalled server shows as the queue it causes (no coordinated omission, as wrk2 would
measure; wrk2 is not packaged here). Run by bench/run.py in its own process on the other CPU:

    python -m bench.openloop URL BODIES_JSON START RATE SECONDS TOKEN   -> JSON on stdout

BODIES_JSON is a file holding a list of request bodies, sent in order from START (cycling);
TOKEN the bearer token. Request i is due at start + i / RATE; a pool of threads with keep-alive
connections takes the next due request, waits for its time, sends it and records
completion − due. With every thread busy, due requests wait in line and that wait is counted.
"""

import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse

THREADS = 64


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(url: str, bodies: list[str], first: int, rate: float, seconds: float, token: str) -> dict:
    target = urllib.parse.urlsplit(url)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    total = int(rate * seconds)
    lock = threading.Lock()
    next_index = 0
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    start = time.perf_counter() + 0.2  # every thread is up before the first request is due

    def take() -> int | None:
        nonlocal next_index
        with lock:
            if next_index >= total:
                return None
            next_index += 1
            return next_index - 1

    def loop() -> None:
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        while (i := take()) is not None:
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                conn.request("POST", target.path, bodies[(first + i) % len(bodies)], headers)
                response = conn.getresponse()
                response.read()
                status = str(response.status)
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            done = time.perf_counter()
            with lock:
                latencies.append((done - due) * 1000)
                statuses[status] = statuses.get(status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return {
        "offered_rate": rate,
        "sent": len(latencies),
        "achieved_rate": len(latencies) / elapsed,
        "statuses": statuses,
        "non_2xx": sum(n for s, n in statuses.items() if not s.startswith("2")),
        "p50": statistics.median(latencies),
        "p90": percentile(latencies, 0.90),
        "p99": percentile(latencies, 0.99),
        "max": max(latencies),
    }


def main(argv: list[str]) -> None:
    url, bodies_path, first, rate, seconds, token = argv
    with open(bodies_path, encoding="utf-8") as f:
        bodies = json.load(f)
    out = run(url, bodies, int(first), float(rate), float(seconds), token)
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
