"""`xinan crisis_worker`: turn assessment events into alerts and escalate missed deadlines."""

import threading

from django.core.management.base import BaseCommand

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
        self.stdout.write("crisis worker running; Ctrl-C to stop")
        self.stdout.flush()
        stop = threading.Event()
        try:
            runner.loop(stop, interval or runner.poll_interval())
        except KeyboardInterrupt:
            stop.set()
