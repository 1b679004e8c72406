"""A doctor's day in a real browser: the worklist, a follow-up, the next one scheduled."""

import datetime as dt

import pytest
from django.utils import timezone

from xinan.smd.models import FollowUp
from xinan.smd.tests.conftest import register, visit

pytestmark = pytest.mark.browser


@pytest.fixture
def due_patient(person_a, doctor):
    """Registered in 2025, last seen 2026-08-01 (stable): due 2026-10-30, now overdue."""
    patient = register(person_a, doctor, registered_on=dt.date(2025, 1, 1))
    visit(patient, doctor, dt.date(2026, 8, 1))
    return patient


def test_a_doctors_day(page, login_as, doctor, due_patient, screenshot):
    login_as(page, doctor)
    page.goto("/workbench/")
    section = page.locator("[data-testid=smd-worklist]")
    assert "张三" in section.inner_text() and "已逾期" in section.inner_text()
    screenshot(page, "workbench")
    section.get_by_role("link", name="随访", exact=True).first.click()
    page.wait_for_url(f"**/smd/p/{due_patient.pk}/follow-up/")
    # The previous drugs are carried over; the spec's definitions sit beside each risk grade.
    assert page.locator("input[name=drug-0-name]").input_value() == "利培酮"
    assert page.get_by_text("4级：持续的打砸行为，不分场合，针对财物或人").is_visible()
    # A first try with a drug but no dose is refused in Chinese and nothing is saved.
    page.locator("input[name=risk_level][value='4']").check()
    for name, value in (("psychotic", "3"), ("insight", "3"), ("adherence", "2")):
        page.locator(f"input[name={name}][value='{value}']").check()
    page.fill("input[name=drug-1-name]", "氯硝西泮")
    page.get_by_test_id("save-follow-up").click()
    page.wait_for_load_state()
    assert "请填写药物“氯硝西泮”的每次剂量" in page.get_by_test_id("form-errors").inner_text()
    assert (
        not FollowUp.objects.filter(patient=due_patient)
        .exclude(visit_date=dt.date(2026, 8, 1))
        .exists()
    )
    screenshot(page, "refused")
    page.fill("input[name=drug-1-dose]", "1mg")
    page.fill("input[name=drug-1-frequency]", "每晚1次")
    page.get_by_test_id("save-follow-up").click()
    page.wait_for_url("**/smd/f/*/")
    today = timezone.localdate()
    expected = today + dt.timedelta(days=14)
    assert page.get_by_test_id("classification").inner_text().count("病情不稳定") >= 1
    assert page.get_by_text("危险性评估为3～5级").is_visible()
    assert page.get_by_text("报告当地公安部门，协助送院治疗").is_visible()
    assert page.get_by_test_id("next-visit").inner_text() == expected.isoformat()
    screenshot(page, "classified")
    page.get_by_role("link", name="张三").click()
    assert page.get_by_test_id("next-due").inner_text() == expected.isoformat()
    page.goto("/smd/?show=unstable")
    assert "张三" in page.locator("[data-testid=patient-row]").first.inner_text()
    screenshot(page, "worklist")
    f = FollowUp.objects.get(patient=due_patient, visit_date=today)
    assert [d.dose for d in f.drugs.all()] == ["2mg", "1mg"]


def test_registering_a_patient_and_the_village_team_sees_only_the_flag(
    page, mobile_page, login_as, doctor, person_a, police_a, screenshot
):
    login_as(page, doctor)
    page.goto("/smd/register/")
    page.fill("input[name=id_number]", person_a.id_number)
    page.select_option("select[name=disorder]", "F20")
    page.fill("input[name=icd10_code]", "F20.0")
    page.fill("input[name=diagnosis_institution]", "长宁区精神卫生中心")
    page.fill("input[name=diagnosis_date]", "2021-03-04")
    page.fill("input[name=guardian_name]", "张父")
    page.get_by_role("button", name="登记在册").click()
    page.wait_for_url("**/smd/p/*/")
    assert "已登记在册：张三" in page.locator(".messages").inner_text()
    screenshot(page, "registered")
    # The same ID number again: a Chinese message, still one patient.
    page.goto("/smd/register/")
    page.fill("input[name=id_number]", person_a.id_number)
    page.select_option("select[name=disorder]", "F20")
    page.fill("input[name=icd10_code]", "F20.0")
    page.fill("input[name=diagnosis_institution]", "长宁区精神卫生中心")
    page.fill("input[name=diagnosis_date]", "2021-03-04")
    page.get_by_role("button", name="登记在册").click()
    page.wait_for_load_state()
    assert "不能重复登记" in page.locator(".errorlist").first.inner_text()
    patient = person_a.smd_patient
    visit(patient, doctor, timezone.localdate(), risk_level=3, notes="在家砸物")
    login_as(mobile_page, police_a)
    mobile_page.goto("/smd/")
    row = mobile_page.get_by_test_id("flag-row").first.inner_text()
    assert "张三" in row and "危险性3级（≥3级）" in row
    body = mobile_page.content()
    assert "精神分裂症" not in body and "利培酮" not in body and "在家砸物" not in body
    screenshot(mobile_page, "police-flag-list")


def test_the_indicators_drill_down_and_export(page, login_as, psychiatrist, patient_a, doctor,
                                              screenshot):  # fmt: skip
    visit(patient_a, doctor, timezone.localdate())
    login_as(page, psychiatrist)
    page.goto("/smd/indicators/")
    table = page.get_by_test_id("indicator-table")
    assert "华阳路街道" in table.inner_text()
    page.get_by_role("link", name="华阳路街道").click()
    page.wait_for_url("**area=310105001000**")
    assert "安顺居委会" in page.get_by_test_id("indicator-table").inner_text()
    screenshot(page, "town")
    with page.expect_download() as download:
        page.get_by_role("link", name="导出Excel报表").click()
    assert download.value.suggested_filename.startswith("smd-indicators-310105001000")
    page.get_by_test_id("indicator-total").get_by_role("link").first.click()
    assert "张三" in page.locator("[data-testid=patient-row]").first.inner_text()
    screenshot(page, "patients-behind-a-figure")
