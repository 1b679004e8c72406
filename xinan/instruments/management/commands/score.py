"""`xinan score CODE ANSWERS`: score one response and print JSON (for researchers and tests)."""

import json

from django.core.management.base import BaseCommand, CommandError

from xinan.instruments.engine import parse_answers, score
from xinan.instruments.errors import InstrumentError
from xinan.instruments.registry import get_instrument


class Command(BaseCommand):
    help = (
        "Score a response. ANSWERS are option codes in item order, comma-separated "
        "(PSQI: key=value pairs). See docs/instruments.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("code", help="instrument code, e.g. PHQ-9")
        parser.add_argument("answers", help='e.g. "0,1,2,3,0,1,2,3,0"')
        parser.add_argument("--instrument-version", dest="instrument_version", default=None)

    def handle(self, *args, code, answers, instrument_version=None, **options):
        try:
            instrument = get_instrument(code, instrument_version)
            result = score(instrument, parse_answers(instrument, answers))
        except InstrumentError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
