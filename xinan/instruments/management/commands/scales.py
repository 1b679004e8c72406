"""`xinan scales`: the instrument library with licence and whether item text is installed."""

from django.core.management.base import BaseCommand

from xinan.instruments.registry import list_instruments


class Command(BaseCommand):
    help = "List the screening instruments."

    def handle(self, *args, **options):
        rows = [("code", "version", "items", "text", "licence", "name")]
        for inst in list_instruments():
            rows.append(
                (
                    inst.code,
                    inst.version,
                    str(len(inst.items)),
                    "yes" if inst.text_installed else "no",
                    inst.licence,
                    inst.name_zh,
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        for row in rows:
            cells = [row[i].ljust(widths[i]) for i in range(5)]
            self.stdout.write("  ".join([*cells, row[5]]))
