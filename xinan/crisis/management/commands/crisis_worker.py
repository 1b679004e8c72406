"""`xinan crisis_worker`: turn assessment events into alerts and escalate missed deadlines.

It sleeps on the bus (`XINAN_BUS`), so an assessment committed by any web process wakes it at
once; it also makes a pass every `--interval` seconds (`CRISIS_POLL_SECONDS`) whatever the bus
says, for escalations and for any notification that was lost.
"""

import threading

from django.core.management.base import BaseCommand

from xinan.core import bus
from xinan.crisis import runner


class Command(BaseCommand):
    help = "Run the crisis consumer and escalation scheduler (loop, or --once)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument("--interval", type=float, default=None, help="seconds between passes")

    def handle(self, *args, once, interval, **options):
        if once:
            result = runner.run_once()
            self.stdout.write(
                f"processed={result.processed} alerts={result.alerts} "
                f"failed={result.failed} escalated={result.escalated}"
            )
            return
        self.stdout.write(f"crisis worker running (bus: {bus.backend_name()}); Ctrl-C to stop")
        self.stdout.flush()
        stop = threading.Event()
        try:
            runner.loop(stop, interval or runner.poll_interval())
        except KeyboardInterrupt:
            stop.set()
