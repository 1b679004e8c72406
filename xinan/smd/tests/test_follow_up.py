import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from xinan.core.models import AuditEntry
from xinan.smd import services
from xinan.smd.models import FollowUp, PatientStatus
from xinan.smd.tests.conftest import STABLE_VISIT, visit

pytestmark = pytest.mark.django_db


def _post(client, patient, drugs=(("利培酮", "2mg", "每日2次"),), **changes):
    data = {**STABLE_VISIT, "visit_date": str(timezone.localdate()), **changes}
    data = {k: v for k, v in data.items() if v is not None}
    if data.get("reached") is True:
        data["reached"] = "on"
    elif data.get("reached") is False:
        del data["reached"]
    data.update({"drug-TOTAL_FORMS": "3", "drug-INITIAL_FORMS": "0"})
    for i, (name, dose, freq) in enumerate(drugs):
        data.update({f"drug-{i}-name": name, f"drug-{i}-dose": dose, f"drug-{i}-frequency": freq})
    return client.post(reverse("smd:follow_up_new", args=[patient.pk]), data)


def test_it_shows_the_spec_risk_definitions_beside_the_choice(client, doctor, patient_a):
    client.force_login(doctor)
    page = client.get(reverse("smd:follow_up_new", args=[patient_a.pk])).content.decode()
    assert "3级：明显打砸行为，不分场合，针对财物，不能接受劝说而停止" in page
    assert "持械/持管制性危险武器针对人的任何暴力行为" in page


def test_it_records_a_stable_visit_and_schedules_three_months(client, doctor, patient_a):
    client.force_login(doctor)
    response = _post(client, patient_a)
    f = FollowUp.objects.get()
    assert response.status_code == 302 and response.url == reverse("smd:follow_up", args=[f.pk])
    assert f.classification == "stable" and f.drugs.get().dose == "2mg"
    today = timezone.localdate()
    assert f.next_visit_date == today + dt.timedelta(days=90)
    patient_a.refresh_from_db()
    assert patient_a.next_due_on == f.next_visit_date and patient_a.current_risk == 0
    page = client.get(response.url).content.decode()
    assert "病情稳定" in page and "继续执行上级医院制定的治疗方案" in page
    assert AuditEntry.objects.filter(action="smd.follow_up.record", object_id=f.pk).exists()


def test_it_classifies_risk_four_as_unstable_with_police_and_two_weeks(client, doctor, patient_a):
    client.force_login(doctor)
    _post(client, patient_a, risk_level=4)
    f = FollowUp.objects.get()
    assert f.classification == "unstable"
    assert [r["key"] for r in f.fired_rules] == ["unstable_risk"]
    assert f.next_visit_date == timezone.localdate() + dt.timedelta(days=14)
    assert any("立即转诊" in a for a in f.actions) and any("公安" in a for a in f.actions)
    page = client.get(reverse("smd:follow_up", args=[f.pk])).content.decode()
    assert "危险性评估为3～5级" in page and "报告当地公安部门，协助送院治疗" in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"visit_date": "2099-01-01"}, "随访日期不能晚于今天"),
        ({"visit_date": "2024-12-31"}, "随访日期不能早于建档日期（2025-01-01）"),
        ({"risk_level": 5, "override_class": "stable", "override_reason": "家属称已好转"},
         "危险性评估5级的患者按规范属于病情不稳定，不能分类为“病情稳定”"),
        ({"risk_level": None}, "每次随访都须做危险性评估"),
        ({"reached": False, "mode": "phone"}, "未访到患者时请选择原因"),
        ({"psychotic": "2", "override_class": "stable"}, "须填写理由"),
        ({"next_visit_date": "2099-01-01"}, "最迟应于"),
        ({"died": "on"}, "登记死亡时请填写死亡日期和原因"),
    ],
)  # fmt: skip
def test_it_refuses_bad_input_in_chinese_and_saves_nothing(
    client, doctor, patient_a, changes, message
):
    client.force_login(doctor)
    response = _post(client, patient_a, **changes)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not FollowUp.objects.exists()
    patient_a.refresh_from_db()
    assert patient_a.last_follow_up_on is None


def test_it_refuses_a_drug_without_a_dose(client, doctor, patient_a):
    client.force_login(doctor)
    response = _post(client, patient_a, drugs=[("氯氮平", "", "每日1次")])
    assert "请填写药物“氯氮平”的每次剂量" in response.content.decode()
    assert not FollowUp.objects.exists()


def test_it_accepts_a_reasoned_override_and_audits_it(client, doctor, patient_a):
    client.force_login(doctor)
    _post(client, patient_a, psychotic="2", override_class="stable",
          override_reason="残留症状轻微，已持续半年无变化")  # fmt: skip
    f = FollowUp.objects.get()
    assert f.computed_class == "basic" and f.classification == "stable"
    assert f.overridden_by == doctor
    assert AuditEntry.objects.get(action="smd.follow_up.record").reason.startswith("override:")
    response = client.post(
        reverse("smd:follow_up_override", args=[f.pk]),
        {"override_class": "basic", "override_reason": "复核后按规范"},
    )
    f.refresh_from_db()
    assert response.status_code == 302 and f.classification == "basic" and not f.override_class
    assert AuditEntry.objects.filter(action="smd.follow_up.override").exists()


def test_it_records_a_not_reached_visit(doctor, patient_a):
    f = visit(patient_a, doctor, dt.date(2026, 3, 1), reached=False, mode="phone",
              not_reached_reason="1", drugs=[])  # fmt: skip
    assert f.classification == "not_reached" and f.risk_level is None
    patient_a.refresh_from_db()
    assert patient_a.current_class == "not_reached"
    assert patient_a.next_due_on == dt.date(2026, 3, 15)


def test_it_registers_a_death_with_its_cause(client, doctor, patient_a):
    client.force_login(doctor)
    _post(client, patient_a, died="on", death_date="2026-06-01", death_cause="b3",
          visit_date="2026-06-03")  # fmt: skip
    patient_a.refresh_from_db()
    assert patient_a.status == PatientStatus.DECEASED and patient_a.death_cause == "b3"
    assert patient_a.due_at is None
    with pytest.raises(services.SmdError, match="已不在册"):
        visit(patient_a, doctor, dt.date(2026, 6, 5))


def test_a_back_dated_visit_does_not_replace_the_current_one(doctor, patient_a):
    visit(patient_a, doctor, dt.date(2026, 5, 1), risk_level=4)
    visit(patient_a, doctor, dt.date(2026, 3, 1))
    patient_a.refresh_from_db()
    assert patient_a.current_class == "unstable" and patient_a.last_follow_up_on == dt.date(
        2026, 5, 1
    )
