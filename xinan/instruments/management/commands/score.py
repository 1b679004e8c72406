"""`xinan score CODE ANSWERS [--version V]`: score one response and print JSON."""

import json

from django.core.management.base import BaseCommand, CommandError

from xinan.instruments.engine import parse_answers, score
from xinan.instruments.errors import InstrumentError
from xinan.instruments.registry import get_instrument


class Command(BaseCommand):
    help = (
        "Score a response. ANSWERS are option codes in item order, comma-separated, '-' for a "
        "skipped item (PSQI: key=value pairs). See docs/instruments.md."
    )

    def add_base_argument(self, parser, *args, **kwargs):
        # Every Django command has --version (Django's version). Here --version names the
        # instrument version, as in `xinan score PHQ-9 ... --version 1`, so Django's is left out.
        if "--version" in args:
            return
        super().add_base_argument(parser, *args, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("code", help="instrument code, e.g. PHQ-9")
        parser.add_argument("answers", help='e.g. "0,1,2,3,0,1,2,3,0"')
        parser.add_argument(
            "--version",
            "--instrument-version",
            dest="version",
            default=None,
            help="instrument version (default: the newest)",
        )

    def handle(self, *args, code, answers, version=None, **options):
        try:
            instrument = get_instrument(code, version)
            result = score(instrument, parse_answers(instrument, answers))
        except InstrumentError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
