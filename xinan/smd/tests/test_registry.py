import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from xinan.core.models import AuditEntry, OutboxEvent
from xinan.smd import services
from xinan.smd.models import DiagnosisReport, Patient, ReportStatus
from xinan.smd.tests.conftest import register
from xinan.testing import factories

pytestmark = pytest.mark.django_db

FORM = {
    "disorder": "F20",
    "icd10_code": "F20.0",
    "diagnosis_institution": "长宁区精神卫生中心",
    "diagnosis_date": "2021-03-04",
    "guardian_name": "张父",
    "guardian_relation": "父子",
    "guardian_phone": "13900001111",
    "household": "urban",
    "employment": "4",
    "consent_management": "on",
    "consent_signed_by": "张父",
    "consent_date": "2021-03-10",
    "past_symptoms": ["1", "3"],
    "past_locking": "1",
    "outpatient_history": "3",
    "inpatient_times": "2",
    "economic_status": "not_poor",
    "specialist_advice": "维持利培酮治疗",
}


def test_it_registers_a_resident_of_the_chc_town(client, doctor, person_a, chc_a):
    client.force_login(doctor)
    response = client.post(reverse("smd:register"), {**FORM, "id_number": person_a.id_number})
    patient = Patient.objects.get(person=person_a)
    assert response.status_code == 302 and response.url == reverse("smd:patient", args=[patient.pk])
    assert patient.managing_institution == chc_a and patient.doctor == doctor
    assert patient.past_symptoms == ["1", "3"] and patient.guardian_phone == "13900001111"
    assert chc_a in person_a.institutions.all()  # the core gate now opens the person too
    assert patient.next_due_on == patient.registered_on + dt.timedelta(days=14)
    assert AuditEntry.objects.filter(action="smd.patient.register", object_id=patient.pk).exists()
    assert OutboxEvent.objects.filter(topic="smd.patient.registered").count() == 1
    page = client.get(response.url).content.decode()
    assert "精神分裂症" in page and "维持利培酮治疗" in page


def test_it_keeps_guardian_phone_encrypted_at_rest(doctor, person_a):
    from django.db import connection

    patient = register(person_a, doctor, guardian_phone="13900001111")
    with connection.cursor() as cursor:
        cursor.execute("SELECT guardian_phone FROM smd_patient WHERE id = %s", [patient.pk])
        (raw,) = cursor.fetchone()
    assert "13900001111" not in raw


def test_it_refuses_the_same_id_number_twice(client, doctor, person_a):
    client.force_login(doctor)
    client.post(reverse("smd:register"), {**FORM, "id_number": person_a.id_number})
    response = client.post(reverse("smd:register"), {**FORM, "id_number": person_a.id_number})
    assert response.status_code == 200
    assert "该身份证号的患者已于" in response.content.decode()
    assert Patient.objects.filter(person=person_a).count() == 1


def test_it_has_a_database_constraint_of_one_patient_per_person(doctor, person_a):
    patient = register(person_a, doctor)
    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.create(
            person=person_a,
            disorder="F20",
            icd10_code="F20",
            diagnosis_institution="x",
            diagnosis_date=patient.diagnosis_date,
            registered_on=patient.registered_on,
        )


def test_it_refuses_a_code_that_does_not_match_the_disorder(client, doctor, person_a):
    client.force_login(doctor)
    data = {**FORM, "id_number": person_a.id_number, "disorder": "F31", "icd10_code": "F20.0"}
    response = client.post(reverse("smd:register"), data)
    assert "与诊断“双相（情感）障碍”不符" in response.content.decode()
    assert not Patient.objects.exists()


@pytest.mark.parametrize(("disorder", "code"), [("F06", "G40.1"), ("F06", "F06.2"),
                                                ("F7x", "F71.1"), ("F22", "F22.0")])  # fmt: skip
def test_it_accepts_the_codes_of_each_disorder(doctor, person_a, disorder, code):
    patient = register(person_a, doctor, disorder=disorder, icd10_code=code)
    assert patient.icd10_code == code


def test_it_refuses_a_resident_outside_the_service_area(client, doctor, person_b):
    client.force_login(doctor)
    response = client.post(reverse("smd:register"), {**FORM, "id_number": person_b.id_number})
    assert "您的服务范围内没有该身份证号的居民档案" in response.content.decode()
    assert not Patient.objects.exists()
    with pytest.raises(services.SmdError, match="只能为您服务范围内的居民建档"):
        register(person_b, doctor)


def test_it_transfers_a_patient_who_moves_instead_of_duplicating(
    client, doctor, doctor_b, patient_a, areas, chc_b
):
    client.force_login(doctor)
    response = client.post(
        reverse("smd:transfer", args=[patient_a.pk]),
        {"to_area": areas["village_b"].code, "reason": "随家人迁居新泾镇"},
    )
    assert response.status_code == 302
    patient_a.refresh_from_db()
    assert patient_a.person.home_area == areas["village_b"]
    assert patient_a.managing_institution == chc_b
    assert Patient.objects.count() == 1 and patient_a.transfers.count() == 1
    assert client.get(reverse("smd:patient", args=[patient_a.pk])).status_code == 404
    client.force_login(doctor_b)
    assert client.get(reverse("smd:patient", args=[patient_a.pk])).status_code == 200
    # The new CHC trying to register them again is told to use the existing record.
    with pytest.raises(services.SmdError, match="不能重复登记"):
        register(patient_a.person, doctor_b)


def test_it_queues_a_hospital_report_with_its_deadlines(client, psychiatrist, doctor, person_a):
    mhc = factories.institution(psychiatrist.memberships.first().area, name="精神卫生中心",
                                kind="mhc")  # fmt: skip
    client.force_login(psychiatrist)
    response = client.post(
        reverse("smd:report_new"),
        {"id_number": person_a.id_number, "institution": mhc.pk, "disorder": "F31",
         "icd10_code": "F31.2", "diagnosis_date": "2026-11-20"},
    )  # fmt: skip
    assert response.status_code == 302
    report = DiagnosisReport.objects.get()
    assert report.report_due_on == dt.date(2026, 12, 4)  # Fri 20 Nov + 10 working days
    client.force_login(doctor)
    queue = client.get(reverse("smd:reports")).content.decode()
    assert person_a.name in queue and "2026-12-04" in queue
    form = client.get(reverse("smd:register") + f"?report={report.pk}").content.decode()
    assert "F31.2" in form
    client.post(
        reverse("smd:register") + f"?report={report.pk}",
        {**FORM, "id_number": person_a.id_number, "disorder": "F31", "icd10_code": "F31.2"},
    )
    report.refresh_from_db()
    assert report.status == ReportStatus.REGISTERED and report.patient.person == person_a


def test_it_counts_working_days_over_weekends():
    assert services.add_working_days(dt.date(2026, 11, 27), 1) == dt.date(2026, 11, 30)
    assert services.add_working_days(dt.date(2026, 11, 30), 10) == dt.date(2026, 12, 14)


def _queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_worklist_and_indicators_cost_the_same_queries_for_more_patients(client, doctor, areas):
    def add(n):
        for _ in range(n):
            register(factories.PersonFactory(home_area=areas["grid_a"]), doctor)

    client.force_login(doctor)
    add(2)
    urls = [reverse("smd:worklist") + "?show=all", reverse("smd:indicators"),
            reverse("workbench")]  # fmt: skip
    before = [_queries(client, u) for u in urls]
    add(10)
    assert [_queries(client, u) for u in urls] == before
