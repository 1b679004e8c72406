"""Issue 11.3/11.7/11.8: what an import reads (encodings, sizes, real .xlsx), what it writes
(formula-safe, encrypted at rest), who downloads the rejected rows (audited), and retention."""

import csv
import datetime as dt
import io
import os
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from xinan.core.models import AuditEntry
from xinan.screening import files, importer, sweeps
from xinan.screening.models import Assessment, ImportJob
from xinan.testing import factories

HEADER = ["身份证号", "姓名", "测评日期", "地点"] + [str(n) for n in range(1, 10)]


def table(rows, delimiter=","):
    out = io.StringIO()
    w = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    w.writerow(HEADER)
    w.writerows(rows)
    return out.getvalue()


def upload(client, data: bytes, name="phq9.csv"):
    f = SimpleUploadedFile(name, data, "text/csv")
    return client.post(reverse("screening:import"), {"instrument": "PHQ-9", "file": f})


def good_rows(person):
    return [
        [person.id_number, "张三", "2026-11-01", "社区卫生服务中心", *"111110000"],
        [person.id_number, "张三", "2026-11-02", "", *"000000001"],
    ]


@pytest.mark.parametrize(
    ("encoding", "bom", "delimiter"),
    [
        ("utf-8", "", ","),
        ("utf-8", "\ufeff", ","),
        ("gbk", "", ","),
        ("gb18030", "", ","),
        ("utf-16", "", ","),  # Python writes the BOM
        ("utf-16-le", "", ","),  # no BOM
        ("utf-16-be", "", ","),
        ("utf-16", "", "\t"),  # Excel's "Unicode text"
    ],
)
def test_it_reads_what_chinese_offices_send(
    client, grid_worker, person_a, encoding, bom, delimiter
):
    client.force_login(grid_worker)
    data = (bom + table(good_rows(person_a), delimiter)).encode(encoding)
    response = upload(client, data, "phq9.txt" if delimiter == "\t" else "phq9.csv")
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert (job.status, job.rows_total, job.rows_imported, job.rows_rejected) == ("done", 2, 2, 0)
    assert Assessment.objects.get(total=5).site == "社区卫生服务中心"


def test_it_refuses_bytes_that_are_no_text_with_a_chinese_message(client, grid_worker):
    client.force_login(grid_worker)
    response = upload(client, b"\x00\x01\xfe\x80\x81\x00\x00\x9f" * 64)
    assert response.status_code == 200
    assert "无法识别文件编码" in response.content.decode()
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"code,name\n1,2\n", "文件不是有效的 Excel（.xlsx）文件"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "旧版 Excel（.xls）"),
    ],
)
def test_a_non_zip_xlsx_gets_a_chinese_message(client, grid_worker, data, message):
    client.force_login(grid_worker)
    page = upload(client, data, "paper.xlsx").content.decode()
    assert message in page
    assert "zip" not in page.lower()
    assert not ImportJob.objects.exists()


def test_a_broken_xlsx_that_slipped_through_fails_with_a_chinese_reason(grid_worker, tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04" + os.urandom(300))
    job = ImportJob.objects.create(
        instrument="PHQ-9", file_name="broken.xlsx", path=str(path), created_by=grid_worker
    )
    job = importer.run(job.pk)
    assert job.status == "failed"
    assert job.error.startswith("Excel 文件已损坏")


def test_it_refuses_an_upload_over_the_configured_size(client, grid_worker, person_a, settings):
    settings.MAX_UPLOAD_MB = 1
    client.force_login(grid_worker)
    row = [person_a.id_number, "张三", "2026-11-01", "x" * 200, *"000000000"]
    data = table([row] * 5000).encode()
    assert len(data) > 1024 * 1024
    page = upload(client, data).content.decode()
    assert "文件过大" in page and "上限为 1 MB" in page
    assert not ImportJob.objects.exists()
    assert list(importer.import_dir().iterdir()) == []


FORMULAS = ["=cmd|' /C calc'!A0", '=HYPERLINK("http://x.example/","点我")', "+1+1", "@SUM(A1)"]


def test_the_rejected_rows_file_is_formula_safe_and_encrypted_at_rest(
    client, grid_worker, person_a
):
    client.force_login(grid_worker)
    rows = [[person_a.id_number, f, "2026-13-01", f, *"000000000"] for f in FORMULAS]
    rows.append([f"-{person_a.id_number}", "\t=1+1", "2026-11-01", "", *"000000000"])
    upload(client, table(rows).encode())
    job = ImportJob.objects.get()
    assert job.rows_rejected == 5
    on_disk = Path(job.rejected_path).read_bytes()
    assert job.rejected_path.endswith(".enc")
    assert person_a.id_number.encode() not in on_disk and b"HYPERLINK" not in on_disk
    text = client.get(reverse("screening:import_rejected", args=[job.pk])).content.decode(
        "utf-8-sig"
    )
    got = list(csv.reader(io.StringIO(text)))
    cells = [c for row in got[1:] for c in row]
    assert person_a.id_number in cells
    for formula in FORMULAS:
        assert "'" + formula in cells
        assert formula not in cells
    assert f"'-{person_a.id_number}" in cells and "'=1+1" in cells  # read stripped


def test_the_audit_export_is_formula_safe(client, sysadmin):
    from xinan.core import audit

    audit.record("core.test", actor=sysadmin, object_type="x", reason='=HYPERLINK("http://x")')
    client.force_login(sysadmin)
    response = client.get(reverse("audit_export"))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    (row,) = [r for r in csv.reader(io.StringIO(text)) if "core.test" in r]
    assert '\'=HYPERLINK("http://x")' in row


def _rejected_job(client, uploader, person):
    client.force_login(uploader)
    upload(client, table([[person.id_number, "", "bad date", "", *"000000000"]]).encode())
    return ImportJob.objects.get()


def test_the_uploader_and_the_admins_above_download_the_rejected_rows_audited(
    client, grid_worker, town_admin, district_admin, person_a
):
    job = _rejected_job(client, grid_worker, person_a)
    url = reverse("screening:import_rejected", args=[job.pk])
    for user in (grid_worker, town_admin, district_admin):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        assert person_a.id_number in response.content.decode("utf-8-sig")
    entries = AuditEntry.objects.filter(action=files.DOWNLOAD_ACTION).order_by("id")
    assert [e.actor_id for e in entries] == [grid_worker.pk, town_admin.pk, district_admin.pk]
    assert {e.object_id for e in entries} == {str(job.pk)}
    assert {e.area_code for e in entries} == {"310105001001001"}
    # the town admin sees the downloads in its audit log
    client.force_login(town_admin)
    assert "screening.importjob" in client.get("/audit/?action=rejected_download").content.decode()


def test_nobody_else_downloads_the_rejected_rows(
    client, grid_worker, counsellor, other_grid_worker, sysadmin, areas, person_a
):
    job = _rejected_job(client, grid_worker, person_a)
    other_admin = factories.staff("area_admin", area=areas["town_b"], username="admin_b")
    url = reverse("screening:import_rejected", args=[job.pk])
    for user in (counsellor, other_grid_worker, other_admin, sysadmin):
        client.force_login(user)
        assert client.get(url).status_code == 404
    assert not AuditEntry.objects.filter(action=files.DOWNLOAD_ACTION).exists()


def test_import_files_are_deleted_after_the_retention(client, grid_worker, person_a, settings):
    settings.IMPORT_RETENTION_DAYS = 30
    job = _rejected_job(client, grid_worker, person_a)
    upload_path, rejected_path = Path(job.path), Path(job.rejected_path)
    orphan = importer.import_dir() / "orphan.csv"
    orphan.write_text("身份证号\n310105198001010011\n")
    old = (timezone.now() - dt.timedelta(days=31)).timestamp()
    os.utime(orphan, (old, old))
    assert sweeps.purge_import_files(timezone.now()) == 0 + 1  # only the old orphan
    assert upload_path.exists() and rejected_path.exists() and not orphan.exists()
    later = timezone.now() + dt.timedelta(days=31)
    assert sweeps.purge_import_files(later) == 1
    assert not upload_path.exists() and not rejected_path.exists()
    job.refresh_from_db()
    assert (job.path, job.rejected_path, job.rows_rejected) == ("", "", 1)
    assert sweeps.purge_import_files(later) == 0  # nothing twice
    assert AuditEntry.objects.filter(action=files.PURGE_ACTION).count() == 2
    client.force_login(grid_worker)
    assert client.get(reverse("screening:import_rejected", args=[job.pk])).status_code == 404


def test_the_purge_runs_as_a_command(grid_worker, person_a, client, settings):
    settings.IMPORT_RETENTION_DAYS = 0
    job = _rejected_job(client, grid_worker, person_a)
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - dt.timedelta(days=1))
    out = io.StringIO()
    call_command("purge_import_files", stdout=out)
    assert "purged 1" in out.getvalue()
    assert not Path(job.path).exists()


def test_the_purge_is_a_registered_sweep():
    from xinan.core import schedule

    assert schedule.get("screening.purge_import_files").func is sweeps.purge_import_files


def test_a_checkpointed_rejects_file_is_one_file(tmp_path):
    first = files.write_encrypted(tmp_path / "7-rejected.csv", "a\n")
    again = files.write_encrypted(first, "a\nb\n")
    assert first == again and [p.name for p in tmp_path.iterdir()] == ["7-rejected.csv.enc"]
