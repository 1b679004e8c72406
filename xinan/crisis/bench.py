"""Alert latency: from an `assessment.scored` outbox row to the row on the on-duty crisis
worker's open board in headless chromium.

    python -m xinan.crisis.bench                 # embedded SQLite in a temporary var dir
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/xinan_bench_crisis python -m xinan.crisis.bench

The server is the production layout (`xinan serve`: granian WSGI, the crisis consumer as an
in-process thread). The bench process writes each event in its own transaction, as the
screening app does but from another process, so the server's consumer finds it by polling
(XINAN_CRISIS_POLL_SECONDS, 0.1 s) rather than by the in-process wake-up: the slower of the
two paths. The board polls its feed every 300 ms (CRISIS_BOARD_POLL_MS). Events are spaced by
a random 0.1–0.6 s so they land at every phase of both polls. Prints one JSON line;
BENCH_ALERTS (default 200).
"""

import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALERTS = int(os.environ.get("BENCH_ALERTS", "200"))
CHROMIUM = os.environ.get("XINAN_CHROMIUM", "/usr/bin/chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare_postgres(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    var = tempfile.mkdtemp(prefix="xinan-crisis-bench-")
    os.environ["XINAN_VAR_DIR"] = var
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xinan.settings")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        _prepare_postgres(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from django.utils import timezone

    from xinan.core import outbox
    from xinan.crisis.models import DutyShift
    from xinan.testing import factories

    call_command("migrate", verbosity=0)
    areas = factories.area_tree()
    worker = factories.staff("crisis_worker", area=areas["town_a"], username="bench_crisis")
    now = timezone.now()
    DutyShift.objects.create(
        user=worker,
        area=areas["town_a"],
        starts_at=now - timezone.timedelta(hours=1),
        ends_at=now + timezone.timedelta(hours=6),
    )
    client = Client()
    client.force_login(worker)
    session = client.cookies["sessionid"].value

    load_before = os.getloadavg()[0]
    port = _free_port()
    env = {**os.environ, "XINAN_CRISIS_BACKGROUND": "1", "XINAN_LOG_LEVEL": "ERROR"}
    server = subprocess.Popen(  # noqa: S603
        [str(Path(sys.executable).parent / "xinan"), "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        latencies = _measure(base, session, areas["grid_a"].code, outbox, transaction)
    finally:
        server.terminate()
        server.wait(10)
    latencies.sort()
    result = {
        "database": connection.vendor,
        "alerts": len(latencies),
        "median_ms": round(statistics.median(latencies) * 1000),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000),
        "p90_ms": round(latencies[int(len(latencies) * 0.90) - 1] * 1000),
        "max_ms": round(latencies[-1] * 1000),
        "under_1s": round(sum(1 for x in latencies if x < 1) / len(latencies), 3),
        "loadavg_before": round(load_before, 1),
        "loadavg_after": round(os.getloadavg()[0], 1),
        "machine": f"{platform.machine()} {os.cpu_count()} CPU, {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
    }
    print(json.dumps(result))


def _measure(base, session, area_code, outbox, transaction) -> list[float]:
    from playwright.sync_api import sync_playwright

    rng = random.Random(4)
    latencies = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(base_url=base)
        context.add_cookies([{"name": "sessionid", "value": session, "url": base}])
        page = context.new_page()
        page.goto("/crisis/")
        page.wait_for_timeout(1000)
        for n in range(1, ALERTS + 1):
            time.sleep(rng.uniform(0.1, 0.6))
            with transaction.atomic():
                outbox.emit(
                    "assessment.scored",
                    {
                        "assessment_id": 900000 + n,
                        "person_id": None,
                        "instrument": "phq9",
                        "version": "1",
                        "total": 12,
                        "band": "moderate",
                        "positive": True,
                        "critical": [{"item": "9", "level": "red", "answer": 2}],
                        "area_code": area_code,
                        "anonymous": True,
                        "previous_total": None,
                        "mode": "self",
                        "submitted_at": "",
                    },
                )
            saved = time.perf_counter()
            page.wait_for_function(
                "n => document.querySelectorAll('tr.alert-row').length >= n",
                arg=n,
                polling="raf",
                timeout=10_000,
            )
            latencies.append(time.perf_counter() - saved)
        browser.close()
    return latencies


if __name__ == "__main__":
    main()
