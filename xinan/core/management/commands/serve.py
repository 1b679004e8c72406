"""`xinan serve`: the production server (granian, WSGI, threads) on the configured database."""

import os
import shutil
import sys

from django.core.management.base import BaseCommand


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
            default=int(os.environ.get("XINAN_THREADS", "4")),
            help="blocking threads per worker: overlap database waits",
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
