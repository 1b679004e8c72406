"""Who sees what: the record for doctors and psychiatrists, the flag for the village team."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from xinan.core.models import AuditEntry
from xinan.crisis.models import Alert
from xinan.smd.models import Emergency, FollowUp, PhysicalExam
from xinan.smd.tests.conftest import visit
from xinan.testing import factories

pytestmark = pytest.mark.django_db

PATIENT_VIEWS = [
    ("get", "smd:patient", {}),
    ("get", "smd:patient_edit", {}),
    ("post", "smd:patient_edit", {"disorder": "F31"}),
    ("get", "smd:follow_up_new", {}),
    ("post", "smd:follow_up_new", {"visit_date": "2026-11-02", "mode": "home", "reached": "on"}),
    ("get", "smd:exam", {}),
    ("post", "smd:exam", {"year": "2026", "consent": "on"}),
    ("get", "smd:emergency_new", {}),
    ("post", "smd:emergency_new", {"triggers": ["relapse"], "risk_level": "1"}),
    ("get", "smd:transfer", {}),
    ("post", "smd:transfer", {"reason": "迁居"}),
]


@pytest.mark.parametrize(("method", "name", "data"), PATIENT_VIEWS)
def test_it_404s_outside_scope(client, doctor_b, patient_a, method, name, data):
    client.force_login(doctor_b)
    response = getattr(client, method)(reverse(name, args=[patient_a.pk]), data)
    assert response.status_code == 404
    assert getattr(client, method)(reverse(name, args=[999999]), data).status_code == 404
    assert not FollowUp.objects.exists() and not PhysicalExam.objects.exists()
    assert not Emergency.objects.exists()
    patient_a.refresh_from_db()
    assert patient_a.disorder == "F20" and patient_a.transfers.count() == 0


def test_it_404s_outside_scope_for_follow_ups_and_emergencies(client, doctor, doctor_b, patient_a):
    f = visit(patient_a, doctor, dt.date(2026, 11, 2))
    e = Emergency.objects.create(patient=patient_a, occurred_at=timezone.now(), risk_level=1,
                                 due_at=timezone.now(), recorded_by=doctor)  # fmt: skip
    client.force_login(doctor_b)
    assert client.get(reverse("smd:follow_up", args=[f.pk])).status_code == 404
    override = {"override_class": "basic", "override_reason": "理由理由"}
    assert client.post(reverse("smd:follow_up_override", args=[f.pk]), override).status_code == 404
    done = {"description": "已送医"}
    assert client.post(reverse("smd:emergency_complete", args=[e.pk]), done).status_code == 404
    f.refresh_from_db()
    e.refresh_from_db()
    assert not f.override_class and e.completed_at is None


@pytest.mark.parametrize("name", ["smd:reports", "smd:register", "smd:indicators",
                                  "smd:indicator_patients"])  # fmt: skip
def test_it_404s_for_roles_without_smd_record_work(client, counsellor, name):
    client.force_login(counsellor)
    assert client.get(reverse(name)).status_code == 404


def test_it_404s_for_users_who_see_nothing_of_the_registry(client, resident_user, sysadmin):
    for user in (resident_user, sysadmin):
        client.force_login(user)
        assert client.get(reverse("smd:worklist")).status_code == 404


def test_a_counsellor_sees_the_flag_list_as_the_gate_decides(client, counsellor, patient_a):
    """The gate's smd column gives counsellors ATTENTION: the flag list, not the record."""
    client.force_login(counsellor)
    page = client.get(reverse("smd:worklist")).content.decode()
    assert patient_a.person.name in page and "精神分裂症" not in page
    assert client.get(reverse("smd:patient", args=[patient_a.pk])).status_code == 404


def test_the_village_team_sees_existence_and_risk_flag_only(
    client, doctor, patient_a, police_a, grid_worker
):
    visit(patient_a, doctor, dt.date(2026, 11, 2), risk_level=4, notes="家中砸物，拒绝服药")
    for user in (police_a, grid_worker):
        client.force_login(user)
        page = client.get(reverse("smd:worklist")).content.decode()
        assert patient_a.person.name in page and "危险性4级（≥3级）" in page
        for secret in ("精神分裂症", "F20", "利培酮", "家中砸物"):
            assert secret not in page
        assert client.get(reverse("smd:patient", args=[patient_a.pk])).status_code == 404
        assert client.get(reverse("smd:indicator_patients")).status_code == 404
        bench = client.get(reverse("workbench")).content.decode()
        assert "辖区严重精神障碍患者" in bench and "利培酮" not in bench
    assert AuditEntry.objects.filter(action="smd.patient.flag_list").count() == 2


def test_the_other_town_team_sees_nothing(client, doctor, patient_a, areas):
    police_b = factories.staff("police", area=areas["village_b"], username="police_b")
    client.force_login(police_b)
    assert patient_a.person.name not in client.get(reverse("smd:worklist")).content.decode()


def test_an_access_grant_opens_the_record_to_another_doctor(client, doctor_b, patient_a):
    from xinan.core import scope

    client.force_login(doctor_b)
    url = reverse("smd:patient", args=[patient_a.pk])
    assert client.get(url).status_code == 404
    scope.grant_access(
        patient_a.person, to_user=doctor_b, kind="referral", reason="转诊接收，需查看随访记录",
        source="test", expires_at=timezone.now() + dt.timedelta(hours=2), actor=doctor_b,
    )  # fmt: skip
    assert client.get(url).status_code == 200


def test_the_district_psychiatrist_sees_the_record(client, psychiatrist, patient_a):
    client.force_login(psychiatrist)
    response = client.get(reverse("smd:patient", args=[patient_a.pk]))
    assert response.status_code == 200 and "精神分裂症" in response.content.decode()
    assert AuditEntry.objects.filter(action="smd.patient.view", actor_id=psychiatrist.pk).exists()


def test_it_links_an_emergency_to_the_patients_crisis_alert(client, doctor, patient_a):
    alert = Alert.objects.create(
        subject_key=f"person:{patient_a.person_id}", trigger_key="manual", trigger="manual",
        source="manual", person=patient_a.person, level="red", summary="家属来电称患者持刀",
        ack_deadline=timezone.now(),
    )  # fmt: skip
    client.force_login(doctor)
    page = client.get(reverse("smd:patient", args=[patient_a.pk])).content.decode()
    assert "家属来电称患者持刀" in page and f"?alert={alert.pk}" in page
    occurred = timezone.localtime() - dt.timedelta(hours=2)
    data = {"occurred_at": occurred.strftime("%Y-%m-%dT%H:%M"), "triggers": ["public_safety"],
            "risk_level": "5", "involved": ["family"], "disposals": ["admission"],
            "hospital": "长宁区精神卫生中心", "alert": alert.pk}  # fmt: skip
    response = client.post(reverse("smd:emergency_new", args=[patient_a.pk]), data)
    assert "危险性3级及以上须通知公安" in response.content.decode()
    assert not Emergency.objects.exists()
    data["involved"] = ["family", "police", "120"]
    response = client.post(reverse("smd:emergency_new", args=[patient_a.pk]), data)
    e = Emergency.objects.get()
    assert response.status_code == 302 and e.alert == alert
    assert e.due_at - e.occurred_at == dt.timedelta(hours=24)
    patient_a.refresh_from_db()
    assert patient_a.current_class == "unstable" and patient_a.current_risk == 5
    other = factories.PersonFactory(home_area=patient_a.person.home_area)
    foreign = Alert.objects.create(
        subject_key=f"person:{other.pk}", trigger_key="manual", trigger="manual",
        source="manual", person=other, level="red", summary="x", ack_deadline=timezone.now(),
    )  # fmt: skip
    url = reverse("smd:emergency_new", args=[patient_a.pk]) + f"?alert={foreign.pk}"
    assert client.get(url).status_code == 404


def test_the_workbench_names_patients_with_an_open_crisis_alert(client, doctor, patient_a):
    Alert.objects.create(
        subject_key=f"person:{patient_a.person_id}", trigger_key="manual", trigger="manual",
        source="manual", person=patient_a.person, level="orange", summary="x",
        ack_deadline=timezone.now(),
    )  # fmt: skip
    client.force_login(doctor)
    page = client.get(reverse("workbench")).content.decode()
    assert "有未关闭危机预警的患者：" in page
    assert reverse("smd:patient", args=[patient_a.pk]) in page
