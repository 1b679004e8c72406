from django.core.management.base import BaseCommand
from django.utils import timezone

from xinan.screening import files


class Command(BaseCommand):
    help = "Delete uploaded and rejected-rows import files older than XINAN_IMPORT_RETENTION_DAYS"

    def handle(self, *args, **options):
        count = files.purge_expired(timezone.now())
        self.stdout.write(f"purged {count}")
