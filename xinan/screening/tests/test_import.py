import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from xinan.core.models import AuditEntry, OutboxEvent
from xinan.screening import importer, services
from xinan.screening.models import Assessment, ImportJob

HEADER = ["身份证号", "姓名", "测评日期", "地点"] + [str(n) for n in range(1, 10)]


def csv_file(rows, name="phq9.csv"):
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(HEADER)
    w.writerows(rows)
    return SimpleUploadedFile(name, ("\ufeff" + out.getvalue()).encode(), "text/csv")


def upload(client, f):
    return client.post(reverse("screening:import"), {"instrument": "PHQ-9", "file": f})


def rows_for(person_a, person_b):
    return [
        [person_a.id_number, "张三", "2026-11-01", "社区", *"111110000"],
        [person_a.id_number, "张三", "2026/11/02", "", *"333333332"],
        [person_b.id_number, "李四", "2026-11-01", "", *"000000000"],  # other town
        ["110101199003077777", "王五", "2026-11-01", "", *"000000000"],  # bad check digit
        [person_a.id_number, "张三", "2026-13-01", "", *"000000000"],
        [person_a.id_number, "张三", "2026-11-03", "", *"00000"],  # four items unanswered
        [person_a.id_number, "张三", "2026-11-04", "", *"00000000x"],
    ]


def test_it_imports_valid_rows_and_reports_the_rest_in_chinese(
    client, grid_worker, person_a, person_b
):
    client.force_login(grid_worker)
    response = upload(client, csv_file(rows_for(person_a, person_b)))
    job = ImportJob.objects.get()
    assert response.url == reverse("screening:import_status", args=[job.pk])
    assert (job.status, job.rows_imported, job.rows_rejected, job.rows_skipped) == ("done", 2, 5, 0)
    page = client.get(response.url).content.decode()
    for message in ["查无此人或不在您的管辖范围内", "身份证号", "测评日期无法识别", "答案"]:
        assert message in page
    assert [r["line"] for r in job.report] == [4, 5, 6, 7, 8]
    a1, a2 = Assessment.objects.order_by("submitted_at")
    assert (a1.mode, a1.entered_by, a1.site, a1.total) == ("import", grid_worker, "社区", 5)
    assert (a2.total, a2.critical[0]["item"]) == (26, "9")
    events = [e.payload for e in OutboxEvent.objects.filter(topic="assessment.scored")]
    assert [e["assessment_id"] for e in events] == [a1.pk, a2.pk]
    assert events[1]["previous_total"] == 5 and events[1]["mode"] == "import"
    assert events[1]["area_code"] == person_a.home_area_id
    assert (
        AuditEntry.objects.filter(
            action="screening.assessment.submit", object_id__in=[str(a1.pk), str(a2.pk)]
        ).count()
        == 2
    )


def test_it_skips_rows_already_imported_on_reupload(client, grid_worker, person_a, person_b):
    client.force_login(grid_worker)
    upload(client, csv_file(rows_for(person_a, person_b)))
    upload(client, csv_file(rows_for(person_a, person_b)))
    second = ImportJob.objects.order_by("id").last()
    assert (second.rows_imported, second.rows_skipped) == (0, 2)
    assert Assessment.objects.count() == 2 == OutboxEvent.objects.count()


def test_it_serves_the_rejected_rows_to_fix_and_reupload(client, grid_worker, person_a, person_b):
    client.force_login(grid_worker)
    upload(client, csv_file(rows_for(person_a, person_b)))
    job = ImportJob.objects.get()
    response = client.get(reverse("screening:import_rejected", args=[job.pk]))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [*HEADER, "错误原因"]
    assert len(rows) == 6
    bad_date = next(r for r in rows if r[2] == "2026-13-01")
    assert "测评日期无法识别" in bad_date[-1]
    # Fix the date and re-upload the rejected file as it is (the reason column is ignored).
    bad_date[2] = "2026-11-05"
    fixed = io.StringIO()
    csv.writer(fixed).writerows(rows)
    upload(client, SimpleUploadedFile("fixed.csv", fixed.getvalue().encode(), "text/csv"))
    assert ImportJob.objects.order_by("id").last().rows_imported == 1
    assert Assessment.objects.count() == 3


def test_it_keeps_other_users_import_jobs_private(
    client, grid_worker, counsellor, person_a, person_b
):
    client.force_login(grid_worker)
    upload(client, csv_file(rows_for(person_a, person_b)))
    job = ImportJob.objects.get()
    client.force_login(counsellor)
    assert client.get(reverse("screening:import_status", args=[job.pk])).status_code == 404
    assert client.get(reverse("screening:import_rejected", args=[job.pk])).status_code == 404


def test_it_imports_the_filled_in_xlsx_template(client, grid_worker, person_a, tmp_path):
    from openpyxl import load_workbook

    client.force_login(grid_worker)
    response = client.get(reverse("screening:import_template", args=["PHQ-9"]))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    path = tmp_path / "t.xlsx"
    path.write_bytes(response.content)
    wb = load_workbook(path)
    assert [c.value for c in wb.worksheets[0][1]] == HEADER
    assert "0=完全不会" in wb.worksheets[1]["C2"].value
    ws = wb.worksheets[0]
    import datetime as dt

    ws.append([person_a.id_number, "张三", dt.date(2026, 11, 1), "", *[1] * 9])
    wb.save(path)
    upload(client, SimpleUploadedFile("filled.xlsx", path.read_bytes()))
    job = ImportJob.objects.get()
    assert (job.rows_imported, job.rows_rejected) == (1, 0), job.report
    assert Assessment.objects.get().total == 9


def test_it_rejects_a_file_with_the_wrong_header(client, grid_worker):
    client.force_login(grid_worker)
    f = SimpleUploadedFile("x.csv", b"a,b,c\n1,2,3\n", "text/csv")
    upload(client, f)
    job = ImportJob.objects.get()
    assert job.rows_imported == 0 and "表头与模板不一致" in job.report[0]["message"]


def test_it_streams_the_file_chunk_by_chunk(grid_worker, person_a, tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "CHUNK_ROWS", 3)
    path = tmp_path / "many.csv"
    with path.open("w", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for day in range(1, 11):
            w.writerow([person_a.id_number, "", f"2026-10-{day:02d}", "", *"000000001"])
    job = ImportJob.objects.create(
        instrument="PHQ-9", file_name="many.csv", path=str(path), created_by=grid_worker
    )
    job = importer.run(job.pk)
    assert (job.rows_total, job.rows_done, job.rows_imported) == (10, 10, 10)
    ids = list(Assessment.objects.order_by("id").values_list("id", flat=True))
    assert ids == list(range(ids[0], ids[0] + 10))
    assert services.previous_total(person_a, "PHQ-9") == 1
