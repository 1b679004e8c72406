"""Import files at rest: rejected-rows files encrypted, every file deleted after a retention.

A rejected-rows file carries the full ID numbers of the rows that failed. It is written to disk
only as Fernet ciphertext (the field keys, xinan/core/lib/crypto.py) and decrypted when its
uploader, or an area admin above the uploader's areas, downloads it; each download is audited.
Uploaded files and rejected-rows files are deleted `XINAN_IMPORT_RETENTION_DAYS` days after
upload (the sweep in sweeps.py, also `xinan purge_import_files`); the job's counts and
report stay.
"""

import datetime as dt
import logging
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinan.core import audit, scope
from xinan.core.lib import crypto, spreadsheet
from xinan.screening.models import ImportJob

log = logging.getLogger(__name__)

ENCRYPTED_SUFFIX = ".enc"
DOWNLOAD_ACTION = "screening.import.rejected_download"
PURGE_ACTION = "screening.import.purge"
audit.register_action(DOWNLOAD_ACTION, gettext_lazy("下载导入未通过的行（含身份证号）"))
audit.register_action(PURGE_ACTION, gettext_lazy("到期删除导入文件"))


def write_encrypted(path: Path, text: str) -> Path:
    """Write `text` (a CSV, BOM first) encrypted; return the path written (…​.enc). Writing
    again to the returned path replaces that file (an import checkpoints after each chunk)."""
    name = path.name if path.name.endswith(ENCRYPTED_SUFFIX) else path.name + ENCRYPTED_SUFFIX
    target = path.with_name(name)
    payload = crypto.cipher().encrypt((spreadsheet.BOM + text).encode("utf-8"))
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(payload)
    tmp.replace(target)
    return target


def read_rejected(job: ImportJob) -> bytes:
    path = Path(job.rejected_path)
    raw = path.read_bytes()
    if path.name.endswith(ENCRYPTED_SUFFIX):
        return crypto.cipher().decrypt(raw)
    return raw  # written before encryption at rest


def uploader_areas(job: ImportJob) -> list[str]:
    """The area codes where the uploader works (their area memberships)."""
    return [m.area.code for m in job.created_by.active_memberships() if m.area_id]


def may_download(user, job: ImportJob) -> bool:
    if job.created_by_id == user.pk:
        return True
    prefixes = scope.admin_prefixes(user)
    return any(code.startswith(p) for code in uploader_areas(job) for p in prefixes)


def rejected_for_download(user, pk) -> tuple[ImportJob, bytes]:
    """The job and its rejected rows for this user, audited; Http404 for anyone else, and for
    a job whose file is gone (retention) or never was."""
    job = ImportJob.objects.select_related("created_by").filter(pk=pk).first()
    if job is None or not may_download(user, job):
        raise Http404
    if not job.rejected_path or not Path(job.rejected_path).exists():
        raise Http404
    content = read_rejected(job)
    areas = uploader_areas(job)
    audit.record(
        DOWNLOAD_ACTION,
        job,
        actor=user,
        area_code=areas[0] if areas else "",
        changed_fields=["id_number"],
        reason=_("%(n)d 行") % {"n": job.rows_rejected},
    )
    return job, content


def purge_expired(now: dt.datetime) -> int:
    """Delete the uploaded and rejected-rows files of jobs older than the retention; returns
    how many jobs were purged. Each job is claimed with a conditional UPDATE (two workers never
    both take it), its files deleted after the claim commits."""
    cutoff = now - dt.timedelta(days=settings.IMPORT_RETENTION_DAYS)
    expired = (
        ImportJob.objects.filter(created_at__lt=cutoff)
        .exclude(path="", rejected_path="")
        .values_list("pk", "path", "rejected_path")
    )
    purged = 0
    for pk, path, rejected in list(expired.iterator()):
        with transaction.atomic():
            claimed = (
                ImportJob.objects.filter(pk=pk, path=path, rejected_path=rejected)
                .exclude(path="", rejected_path="")
                .update(path="", rejected_path="")
            )
        if not claimed:
            continue
        for name in (path, rejected):
            _unlink(name)
        purged += 1
    purged_orphans = _purge_orphans(cutoff)
    if purged or purged_orphans:
        audit.record(
            PURGE_ACTION,
            actor=None,
            object_type="screening.importjob",
            object_id=str(purged),
            changed_fields=["path", "rejected_path"],
            reason=_("%(jobs)d 个导入任务的文件，%(orphans)d 个无任务的文件")
            % {"jobs": purged, "orphans": purged_orphans},
        )
    return purged + purged_orphans


def _purge_orphans(cutoff: dt.datetime) -> int:
    """Files in the import folder that no job names (an upload whose job was never created, a
    temporary file), older than the cutoff."""
    from xinan.screening.importer import import_dir

    named = set()
    for path, rejected in ImportJob.objects.values_list("path", "rejected_path"):
        named.update({path, rejected})
    count = 0
    for f in import_dir().iterdir():
        if str(f) in named or not f.is_file():
            continue
        if dt.datetime.fromtimestamp(f.stat().st_mtime, tz=dt.UTC) < cutoff:
            _unlink(str(f))
            count += 1
    return count


def _unlink(name: str) -> None:
    if not name:
        return
    try:
        Path(name).unlink(missing_ok=True)
    except OSError:
        log.exception("could not delete import file %s", name)
