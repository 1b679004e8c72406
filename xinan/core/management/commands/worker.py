"""`xinan worker`: every registered consumer, every periodic sweep and every queued job.

Run one or more beside the app processes (production, PostgreSQL); `xinan serve` runs the same
loops in-process for the embedded default. See xinan/core/worker.py and docs/deployment.md.
"""

import signal
import threading

from django.core.management.base import BaseCommand

from xinan.core import bus, worker


class Command(BaseCommand):
    help = "Run the worker: consumers, periodic sweeps and jobs (loop, or --once)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="everything due now, then exit")
        parser.add_argument(
            "--lanes",
            default=",".join(worker.LANES),
            help=f"comma-separated subset of {','.join(worker.LANES)}",
        )

    def handle(self, *args, once, lanes, **options):
        if once:
            self.report_once(worker.run_once())
            return
        chosen = [lane.strip() for lane in lanes.split(",") if lane.strip()]
        unknown = set(chosen) - set(worker.LANES)
        if unknown:
            self.stderr.write(f"unknown lanes: {', '.join(sorted(unknown))}")
            raise SystemExit(2)
        w = worker.Worker(chosen)
        stopped = threading.Event()

        def stop(*_args):
            stopped.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        w.start()
        self.stdout.write(
            f"worker {w.name} running (lanes: {','.join(chosen)}; bus: {bus.backend_name()})"
        )
        self.stdout.flush()
        stopped.wait()
        w.shutdown()

    def report_once(self, counts: dict) -> None:
        self.stdout.write(
            f"processed={counts['processed']} failed={counts['failed']} jobs={counts['jobs']} "
            f"sweeps={','.join(f'{k}:{v}' for k, v in counts['sweeps'].items())}"
        )
