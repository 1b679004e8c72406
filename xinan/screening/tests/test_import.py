import csv
import datetime as dt
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from xinan.core.models import AuditEntry, OutboxEvent
from xinan.screening import import_chunk, importer, services
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
    # One audit row per chunk and area, naming the job, the count and the first/last ids; the
    # assessments themselves record who entered them, how, where and when.
    assert not AuditEntry.objects.filter(action="screening.assessment.submit").exists()
    (entry,) = AuditEntry.objects.filter(action=import_chunk.CHUNK_ACTION)
    assert (entry.actor, entry.object_type, entry.object_id) == (
        grid_worker,
        "screening.importjob",
        str(job.pk),
    )
    assert entry.area_code == person_a.home_area_id
    assert entry.reason == f"导入 2 份测评，编号 {a1.pk}–{a2.pk}"


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
    text = response.content.decode("utf-8-sig")
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
    # one audit row per chunk (3 + 3 + 3 + 1 rows), each naming its ids
    reasons = list(
        AuditEntry.objects.filter(action=import_chunk.CHUNK_ACTION)
        .order_by("id")
        .values_list("reason", flat=True)
    )
    assert reasons == [
        f"导入 {n} 份测评，编号 {ids[first]}–{ids[first + n - 1]}"
        for first, n in ((0, 3), (3, 3), (6, 3), (9, 1))
    ]


def test_each_event_is_the_payload_a_submission_would_emit(
    grid_worker, person_a, tmp_path, monkeypatch
):
    """Events are written without model instances or json.dumps: they must still be exactly
    services.payload() of their assessment, with the previous total across chunks and rows."""
    monkeypatch.setattr(importer, "CHUNK_ROWS", 4)
    path = tmp_path / "mixed.csv"
    rows = [
        ["2026-10-01", "000000000"],
        ["2026-10-02", "333333333"],  # critical item 9
        ["2026-10-03", "1-1010101"],  # one item skipped: imputed, answers hold a null
        ["2026-10-04", "012301230"],
        ["2026-10-05", "222222221"],
        ["2026-10-06", "100000000"],
    ]
    with path.open("w", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for day, answers in rows:
            w.writerow([person_a.id_number, "", day, '站点\t"引号"', *answers])
    job = ImportJob.objects.create(
        instrument="PHQ-9", file_name="mixed.csv", path=str(path), created_by=grid_worker
    )
    job = importer.run(job.pk)
    assert (job.rows_imported, job.rows_rejected) == (6, 0), job.report
    events = {
        e.payload["assessment_id"]: e.payload
        for e in OutboxEvent.objects.filter(topic="assessment.scored")
    }
    previous = None
    for a in Assessment.objects.order_by("submitted_at"):
        expected = services.payload(a, previous)
        event = events[a.pk]
        # the same instant (the import writes it in local time, the database gives UTC)
        for when in (event, expected):
            when["submitted_at"] = dt.datetime.fromisoformat(when["submitted_at"])
        assert event == expected
        assert a.site == '站点\t"引号"'
        previous = a.total
    skipped = Assessment.objects.get(
        idempotency_key=importer.idempotency_key(
            person_a.id_number_hash, "PHQ-9", dt.date(2026, 10, 3)
        )
    )
    assert skipped.answers == {
        "1": 1,
        "2": None,
        "3": 1,
        "4": 0,
        "5": 1,
        "6": 0,
        "7": 1,
        "8": 0,
        "9": 1,
    }
    assert skipped.total == 6  # 5 over 8 answered items, imputed to 9
    plain = Assessment.objects.get(total=12)
    assert plain.answers == {str(n): int(c) for n, c in enumerate("012301230", start=1)}
    assert Assessment.objects.get(total=27).critical == [{"item": "9", "level": "red", "answer": 3}]


def test_the_audit_log_shows_each_chunk_to_the_administrators_of_its_area(
    client, psychiatrist, town_admin, district_admin, person_a, person_b
):
    client.force_login(psychiatrist)  # district-wide: both towns
    upload(
        client,
        csv_file(
            [
                [person_a.id_number, "", "2026-11-01", "", *"111110000"],
                [person_b.id_number, "", "2026-11-01", "", *"000000000"],
                [person_a.id_number, "", "2026-11-02", "", *"000000001"],
            ]
        ),
    )
    job = ImportJob.objects.get()
    assert job.rows_imported == 3
    a1, b, a2 = Assessment.objects.order_by("id")
    assert (a1.person, b.person, a2.person) == (person_a, person_b, person_a)
    rows = {
        e.area_code: e.reason for e in AuditEntry.objects.filter(action=import_chunk.CHUNK_ACTION)
    }
    assert rows == {
        person_a.home_area_id: f"导入 2 份测评，编号 {a1.pk}–{a2.pk}",
        person_b.home_area_id: f"导入 1 份测评，编号 {b.pk}–{b.pk}",
    }
    client.force_login(town_admin)
    page = client.get(reverse("audit_log"), {"action": import_chunk.CHUNK_ACTION}).content.decode()
    # The object by its Chinese label, its code kept in the cell's title.
    assert 'title="screening.importjob"' in page and f"#{job.pk}</td>" in page
    assert rows[person_a.home_area_id] in page and rows[person_b.home_area_id] not in page
    client.force_login(district_admin)
    page = client.get(reverse("audit_log"), {"object_id": str(job.pk)}).content.decode()
    assert all(reason in page for reason in rows.values())


def test_it_wakes_the_crisis_consumer_once_per_chunk(grid_worker, person_a, tmp_path, monkeypatch):
    """Events are written in bulk (outbox.emit_many), announced on the bus once per chunk that
    wrote any, inside its transaction: to the bulk lane, and under their topic."""
    from xinan.core import bus

    published = []
    monkeypatch.setattr(bus, "publish", lambda topic, **kw: published.append(topic))
    monkeypatch.setattr(importer, "CHUNK_ROWS", 4)
    path = tmp_path / "five.csv"
    with path.open("w", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for day in range(1, 6):
            w.writerow([person_a.id_number, "", f"2026-10-{day:02d}", "", *"000000003"])
    job = ImportJob.objects.create(
        instrument="PHQ-9", file_name="five.csv", path=str(path), created_by=grid_worker
    )
    assert importer.run(job.pk).rows_imported == 5
    assert published == ["bulk", "assessment.scored"] * 2


def test_it_lets_the_worker_s_live_lanes_run_first(grid_worker, person_a, tmp_path, monkeypatch):
    """While a live lane of the same worker process is in a pass (xinan/core/priority.py), the
    importer waits between the rows it parses, then imports them all."""
    import threading

    from xinan.core import priority

    monkeypatch.setattr(priority, "STEP_ASIDE_SECONDS", 60)
    path = tmp_path / "three.csv"
    with path.open("w", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for day in range(1, 4):
            w.writerow([person_a.id_number, "", f"2026-10-{day:02d}", "", *"000000001"])
    job = ImportJob.objects.create(
        instrument="PHQ-9", file_name="three.csv", path=str(path), created_by=grid_worker
    )
    entered, waited = threading.Event(), []

    def live_pass():
        with priority.live():
            entered.set()
            for _ in range(1000):
                if priority.waiting():
                    waited.append(True)
                    return
                threading.Event().wait(0.005)

    t = threading.Thread(target=live_pass)
    t.start()
    entered.wait(10)
    job = importer.run(job.pk)
    t.join(10)
    assert waited == [True]
    assert job.rows_imported == 3 and Assessment.objects.count() == 3
