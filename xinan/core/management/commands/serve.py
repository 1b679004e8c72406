"""`xinan serve`: the production server (granian, WSGI, threads) on the configured database."""

import os
import shutil
import sys

from django.core.management.base import BaseCommand


def default_threads() -> int:
    """Blocking threads per server process when XINAN_THREADS is not set. On PostgreSQL a
    request spends much of its time waiting on round trips to the database, which more threads
    overlap (8 against 4: 29% of the ceiling against 24% on the submission benchmark,
    docs/benchmarks.md); on SQLite the database runs inside the process, and threads beyond 4
    only take turns at the interpreter lock (the same throughput)."""
    from django.db import connection

    return 8 if connection.vendor == "postgresql" else 4


class Command(BaseCommand):
    help = "Serve xinan with granian (WSGI). Set XINAN_WORKERS / XINAN_THREADS to scale."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("XINAN_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("XINAN_PORT", "8000")))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("XINAN_WORKERS", "1"))
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=int(os.environ.get("XINAN_THREADS", "0")) or default_threads(),
            help="blocking threads per worker: overlap database waits "
            "(default 8 on PostgreSQL, 4 on SQLite)",
        )

    def handle(self, *args, host, port, workers, threads, **options):
        granian = shutil.which("granian", path=os.path.dirname(sys.executable)) or shutil.which(
            "granian"
        )
        if granian is None:
            self.stderr.write("granian is not installed; run `make setup`")
            sys.exit(1)
        self.stdout.write(
            f"xinan serving on http://{host}:{port} (granian WSGI, {workers}×{threads})"
        )
        self.stdout.flush()
        argv = [
            granian,
            "--interface",
            "wsgi",
            "--host",
            host,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--blocking-threads",
            str(threads),
            "--no-access-log",
            "xinan.wsgi:application",
        ]
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xinan.settings")
        # The worker (consumers, sweeps, jobs) runs in-process by default, so the embedded
        # default needs no second process; XINAN_WORKER_BACKGROUND=0 when `xinan worker`
        # processes run separately (XINAN_CRISIS_BACKGROUND is its old name).
        os.environ.setdefault(
            "XINAN_WORKER_BACKGROUND", os.environ.get("XINAN_CRISIS_BACKGROUND", "1")
        )
        os.execv(granian, argv)  # noqa: S606 — replace this process with the server
