"""`xinan crisis_worker`: the old name of `xinan worker` (every consumer, sweep and job)."""

from xinan.core.management.commands import worker
from xinan.crisis import runner


class Command(worker.Command):
    help = "Alias of `xinan worker`."

    def handle(self, *args, once, **options):
        if once:
            result = runner.run_once()
            self.stdout.write(
                f"processed={result.processed} alerts={result.alerts} "
                f"failed={result.failed} escalated={result.escalated}"
            )
            return
        super().handle(*args, once=False, **options)
