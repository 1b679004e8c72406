"""Each indicator on a small hand-built registry, the expected values worked out below."""

import datetime as dt
import io

import pytest
from django.urls import reverse

from xinan.smd import indicators
from xinan.smd.models import Patient, PatientStatus, PhysicalExam
from xinan.smd.tests.conftest import register, visit
from xinan.testing import factories

pytestmark = pytest.mark.django_db

START, END = dt.date(2026, 1, 1), dt.date(2026, 11, 30)
REG = dt.date(2025, 1, 1)


@pytest.fixture
def registry(areas, doctor, doctor_b):
    """Town A (安顺): P1–P4 in the registry, P6 dead in May, P7 excluded; town B: P5.

    P1  home visits 01-10, 04-05, 07-01, 09-25 (gaps 85/87/86 d), regular, stable, examined
    P2  phone visits 02-01 (risk 1), 08-01 (symptoms 较差), intermittent medication
    P3  one outpatient visit 03-01, currently in hospital, not taking drugs
    P4  only a not-reached phone attempt 04-01; refused the exam
    P5  registered 06-01; home visits 06-10, 08-20, 11-10 (gaps 71/82 d), regular, stable
    P6  died 05-01 (not 在册 at the end);  P7  excluded from the registry
    Residents: 10 in town A (6 patients + 4 others), 2 in town B: 12 in the district.
    """
    grid_a, grid_b = areas["grid_a"], areas["grid_b"]
    people = [factories.PersonFactory(home_area=grid_a) for _ in range(6)]
    people += [factories.PersonFactory(home_area=grid_a) for _ in range(4)]
    p5_person = factories.PersonFactory(home_area=grid_b)
    factories.PersonFactory(home_area=grid_b)
    p = {i + 1: register(people[i], doctor, registered_on=REG) for i in range(4)}
    p[5] = register(p5_person, doctor_b, registered_on=dt.date(2026, 6, 1))
    p[6] = register(people[4], doctor, registered_on=REG)
    p[7] = register(people[5], doctor, registered_on=REG)
    for day in ("2026-01-10", "2026-04-05", "2026-07-01", "2026-09-25"):
        visit(p[1], doctor, dt.date.fromisoformat(day))
    PhysicalExam.objects.create(patient=p[1], year=2026, consent=True,
                                exam_date=dt.date(2026, 5, 1), recorded_by=doctor)  # fmt: skip
    visit(p[2], doctor, dt.date(2026, 2, 1), mode="phone", risk_level=1, adherence="2")
    visit(p[2], doctor, dt.date(2026, 8, 1), mode="phone", psychotic="2", adherence="2")
    visit(p[3], doctor, dt.date(2026, 3, 1), mode="outpatient", hospitalisation="1",
          adherence="3", drugs=[])  # fmt: skip
    visit(p[4], doctor, dt.date(2026, 4, 1), mode="phone", reached=False,
          not_reached_reason="1", drugs=[])  # fmt: skip
    PhysicalExam.objects.create(patient=p[4], year=2026, consent=False, recorded_by=doctor)
    for day in ("2026-06-10", "2026-08-20", "2026-11-10"):
        visit(p[5], doctor_b, dt.date.fromisoformat(day))
    visit(p[6], doctor, dt.date(2026, 2, 1))
    visit(p[6], doctor, dt.date(2026, 5, 3), died=True, death_date=dt.date(2026, 5, 1),
          death_cause="b3")  # fmt: skip
    Patient.objects.filter(pk=p[7].pk).update(status=PatientStatus.EXCLUDED)
    return p


def test_each_indicator_matches_the_hand_computed_value(registry, areas):
    total, rows = indicators.report(areas["district"], START, END)
    p = registry
    assert sorted(total.patient_ids["registered"]) == sorted(p[i].pk for i in (1, 2, 3, 4, 5))
    assert total.counts == {
        "registered": 5,  # P1–P5
        "managed": 4,  # P1, P2, P3 (in hospital), P5 — not P4 (never reached)
        "standard": 2,  # P1: 4 ≥ ceil(4×334/365)=4, gaps ≤ 92; P5: 3 ≥ ceil(4×183/365)=3
        "medicated": 4,  # P1, P5 regular; P2 intermittent; P3 in hospital
        "regular": 2,  # P1, P5
        "face": 3,  # P1, P5 home visits; P3 outpatient — P2 phone only, P4 not reached
        "home_managed": 3,  # 在管 minus P3 (in hospital)
        "stable": 2,  # P1, P5 (P2's last visit is 基本稳定)
        "examined": 1,  # P1 (P4 refused)
    }
    rates = total.rates
    assert rates["management_rate"] == pytest.approx(80.0)
    assert rates["standard_rate"] == pytest.approx(40.0)
    assert rates["medication_rate"] == pytest.approx(80.0)
    assert rates["regular_rate"] == pytest.approx(40.0)
    assert rates["face_rate"] == pytest.approx(60.0)
    assert rates["stable_rate"] == pytest.approx(200 / 3)
    assert rates["exam_rate"] == pytest.approx(20.0)
    assert total.population == 12 and total.prevalence == pytest.approx(5000 / 12)
    by_name = {r.area_name: r for r in rows}
    assert by_name["华阳路街道"].counts["registered"] == 4
    assert by_name["华阳路街道"].counts["standard"] == 1 and by_name["华阳路街道"].population == 10
    assert by_name["新泾镇"].counts["registered"] == 1 and by_name["新泾镇"].counts["stable"] == 1


def test_a_patient_who_died_before_the_end_is_still_counted_for_an_earlier_period(registry, areas):
    total, _ = indicators.report(areas["district"], START, dt.date(2026, 4, 30))
    assert registry[6].pk in total.patient_ids["registered"]
    assert registry[5].pk not in total.patient_ids["registered"]  # registered in June


@pytest.mark.parametrize(
    ("dates", "registered", "ok"),
    [
        (["2026-01-10", "2026-04-05", "2026-07-01", "2026-09-25"], REG, True),
        (["2026-01-10", "2026-04-05", "2026-07-20", "2026-09-25"], REG, False),  # 106-day gap
        (["2026-01-10", "2026-04-05", "2026-07-01"], REG, False),  # 3 visits < 4 required
        (["2026-10-01"], dt.date(2026, 9, 1), True),  # covered 91 d: 1 visit required
    ],
)
def test_the_standard_management_rule(dates, registered, ok):
    days = [dt.date.fromisoformat(d) for d in dates]
    assert indicators.standard_ok(days, START, END, registered) is ok


def test_the_page_drills_down_and_links_figures_to_patients(client, registry, psychiatrist):
    client.force_login(psychiatrist)
    url = reverse("smd:indicators") + "?start=2026-01-01&end=2026-11-30"
    page = client.get(url).content.decode()
    assert "华阳路街道" in page and "40.0%" in page and "416.67‰" in page
    link = reverse("smd:indicator_patients") + "?area=310105000000&measure=standard"
    assert "measure=standard" in page
    listing = client.get(link + "&start=2026-01-01&end=2026-11-30").content.decode()
    assert registry[1].person.name in listing and registry[5].person.name in listing
    assert registry[2].person.name not in listing
    town = client.get(reverse("smd:indicators") + "?area=310105001000&start=2026-01-01"
                      "&end=2026-11-30").content.decode()  # fmt: skip
    assert "安顺居委会" in town


def test_an_area_admin_sees_figures_without_patient_links(client, registry, district_admin):
    client.force_login(district_admin)
    page = client.get(reverse("smd:indicators") + "?end=2026-11-30").content.decode()
    assert "规范管理率" in page and "indicators/patients" not in page
    assert client.get(reverse("smd:indicator_patients")).status_code == 404


def test_it_404s_for_an_area_outside_the_users_reach(client, registry, doctor):
    client.force_login(doctor)
    assert client.get(reverse("smd:indicators") + "?area=310105000000").status_code == 404
    assert client.get(reverse("smd:indicators") + "?area=310105001000").status_code == 200


def test_it_exports_the_report_as_a_formula_safe_workbook(client, registry, areas, psychiatrist):
    from openpyxl import load_workbook

    areas["village_a"].name = "=HYPERLINK(1)"
    areas["village_a"].save()
    client.force_login(psychiatrist)
    response = client.get(reverse("smd:indicators_xlsx") + "?area=310105001000&start=2026-01-01"
                          "&end=2026-11-30")  # fmt: skip
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(response.content)).active
    rows = [list(row) for row in ws.iter_rows(values_only=True)]
    assert rows[0][0] == "严重精神障碍患者管理工作情况统计表"
    assert (
        rows[1][0] == "填报单位：华阳路街道" and rows[2][0] == "统计期间：2026-01-01 至 2026-11-30"
    )
    assert rows[3][:3] == ["地区", "在册患者数", "在管患者数"]
    assert rows[4][0] == "'=HYPERLINK(1)" and rows[4][1] == 4 and rows[4][3] == 1
    total = rows[5]
    assert total[0] == "华阳路街道" and total[1] == 4
    footer = [r for r in rows if r and r[0] and str(r[0]).startswith("填报人")][0]
    assert "审核人：" in footer
