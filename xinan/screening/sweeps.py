"""Periodic sweeps of the screening app (registered with xinan/core/schedule.py)."""

import datetime as dt

from xinan.core.schedule import periodic
from xinan.screening import files


@periodic("screening.purge_import_files", every=dt.timedelta(hours=1))
def purge_import_files(now: dt.datetime) -> int:
    """Uploaded and rejected-rows files past XINAN_IMPORT_RETENTION_DAYS are deleted."""
    return files.purge_expired(now)
