import csv
import datetime as dt
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import Workbook

from xinan.network import importer
from xinan.network.models import (
    Course,
    Enrolment,
    NetworkImport,
    Professional,
    ServiceSite,
    TrainingSession,
)
from xinan.testing import factories


def xlsx(rows) -> SimpleUploadedFile:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return SimpleUploadedFile("register.xlsx", buf.getvalue())


SITES = [
    importer.HEADERS["sites"],
    [
        "安顺心理咨询室",
        "村居心理咨询室",
        "310105001001",
        "安顺路1号",
        "021-1",
        "周二 14:00-17:00",
        "个体心理咨询、心理健康科普",
        "31.22",
        "121.42",
    ],
    [
        "华阳路心理驿站",
        "station",
        "310105001000",
        "",
        "",
        "周一至周五 9:00-17:00",
        "counselling",
        "",
        "",
    ],
    ["无区划驿站", "心理驿站", "", "", "", "周一 9:00-10:00", "", "", ""],
    ["淞虹心理驿站", "心理驿站", "310105102001", "", "", "周一 9:00-10:00", "", "", ""],
    ["坏时间", "心理驿站", "310105001001", "", "", "周一 17:00-9:00", "", "", ""],
    ["@cmd|calc", "火星站", "310105001001", "", "", "周一 9:00-10:00", "", "", ""],
]


def test_it_imports_sites_with_a_report_and_rejected_rows(client, areas, town_admin):
    client.force_login(town_admin)
    response = client.post("/network/manage/import/", {"kind": "sites", "file": xlsx(SITES)})
    job = NetworkImport.objects.get()
    assert response.url == f"/network/manage/import/{job.pk}/"
    assert (job.rows_created, job.rows_rejected) == (2, 4)
    room = ServiceSite.objects.get(name="安顺心理咨询室")
    assert room.site_type == "village_room" and room.service_codes == [
        "counselling",
        "psychoeducation",
    ]
    assert [h.weekday for h in room.hours.all()] == [1] and room.lat == 31.22
    body = client.get(response.url).content.decode()
    assert "区划代码不能为空（每个服务点和人员都必须属于一个区划）" in body
    assert "区划“淞虹居委会”不在您的管理范围内" in body
    assert "开门应早于关门" in body and "类型“火星站”无效" in body
    rejected = client.get(f"/network/manage/import/{job.pk}/rejected/").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(rejected)))
    assert rows[0][-1] == "错误原因" and len(rows) == 5
    assert rows[-1][0] == "'@cmd|calc"  # formula-safe


def test_a_second_upload_changes_nothing(client, areas, town_admin):
    client.force_login(town_admin)
    client.post("/network/manage/import/", {"kind": "sites", "file": xlsx(SITES)})
    client.post("/network/manage/import/", {"kind": "sites", "file": xlsx(SITES)})
    second = NetworkImport.objects.first()
    assert (second.rows_created, second.rows_updated, second.rows_unchanged) == (0, 0, 2)
    assert ServiceSite.objects.count() == 2
    changed = [list(r) for r in SITES[:2]]
    changed[1][4] = "021-2"
    client.post("/network/manage/import/", {"kind": "sites", "file": xlsx(changed)})
    assert NetworkImport.objects.first().rows_updated == 1
    assert ServiceSite.objects.get(name="安顺心理咨询室").phone == "021-2"


def test_it_imports_professionals_and_refuses_lapsed_certificates(client, areas, town_admin):
    today = timezone.localdate()
    rows = [
        importer.HEADERS["professionals"],
        [
            "陈静",
            "心理咨询师",
            "310105001000",
            "021-3",
            "睡眠",
            "普通话",
            "心理咨询师",
            "A-1",
            "人社局",
            (today + dt.timedelta(days=300)).isoformat(),
        ],
        ["王敏", "志愿者", "310105001001", "", "", "", "", "", "", ""],
        [
            "李强",
            "心理咨询师",
            "310105001000",
            "",
            "",
            "",
            "心理咨询师",
            "A-2",
            "人社局",
            "2020-01-01",
        ],
    ]
    client.force_login(town_admin)
    client.post("/network/manage/import/", {"kind": "professionals", "file": xlsx(rows)})
    job = NetworkImport.objects.get()
    assert (job.rows_created, job.rows_rejected) == (2, 1)
    assert "证书已于2020-01-01过期" in job.report[0]["message"]
    assert not Professional.objects.filter(name="李强").exists()  # nothing half-saved
    assert Professional.objects.get(name="陈静").certificates.get().number == "A-1"
    client.post("/network/manage/import/", {"kind": "professionals", "file": xlsx(rows[:3])})
    again = NetworkImport.objects.first()
    assert (again.rows_created, again.rows_unchanged) == (0, 2)


def test_it_imports_training_attendance_once(client, areas, town_admin):
    p = Professional.objects.create(name="陈静", kind="counsellor", area=areas["town_a"])
    site = factories.service_site(areas["town_a"], "驿站")
    course = Course.objects.create(title="能力提升", topic="心理", area=areas["town_a"])
    start = timezone.now() - dt.timedelta(days=3)
    session = TrainingSession.objects.create(
        course=course,
        topic="危机识别",
        trainer="赵",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
        hours=2,
        site=site,
    )
    rows = [
        importer.HEADERS["attendance"],
        [str(session.pk), "陈静", "310105001000", ""],
        [str(session.pk), "不存在", "310105001000", ""],
        ["9999", "陈静", "310105001000", ""],
    ]
    client.force_login(town_admin)
    client.post("/network/manage/import/", {"kind": "attendance", "file": xlsx(rows)})
    client.post("/network/manage/import/", {"kind": "attendance", "file": xlsx(rows)})
    first, second = NetworkImport.objects.order_by("pk")
    assert (first.rows_created, first.rows_rejected) == (1, 2)
    assert (second.rows_created, second.rows_unchanged) == (0, 1)
    assert Enrolment.objects.get().professional == p and Enrolment.objects.get().method == "import"


def test_a_wrong_header_or_file_is_refused_in_chinese(client, areas, town_admin):
    client.force_login(town_admin)
    client.post("/network/manage/import/", {"kind": "sites", "file": xlsx([["名字", "类型"]])})
    assert "表头与模板不一致" in NetworkImport.objects.get().report[0]["message"]
    bad = SimpleUploadedFile("x.xlsx", b"not a zip at all")
    body = client.post("/network/manage/import/", {"kind": "sites", "file": bad}).content.decode()
    assert "Excel" in body and NetworkImport.objects.count() == 1


def test_imports_are_for_area_admins_and_their_own_jobs(client, areas, town_admin, counsellor):
    client.force_login(counsellor)
    assert client.get("/network/manage/import/").status_code == 404
    other = factories.staff("area_admin", area=areas["town_b"], username="admin_b")
    client.force_login(town_admin)
    client.post("/network/manage/import/", {"kind": "sites", "file": xlsx(SITES)})
    job = NetworkImport.objects.get()
    client.force_login(other)
    assert client.get(f"/network/manage/import/{job.pk}/").status_code == 404
    assert client.get(f"/network/manage/import/{job.pk}/rejected/").status_code == 404
