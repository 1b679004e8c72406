import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from xinan.accounts.models import User
from xinan.core.models import AuditEntry
from xinan.people import demo as people_demo
from xinan.smd import demo, visibility
from xinan.smd.models import DiagnosisReport, FollowUp, Patient, PhysicalExam

pytestmark = pytest.mark.django_db


def test_the_demo_gives_the_doctor_a_days_work_and_is_safe_to_rerun(client):
    people_demo.build(seed=7, residents=1500)
    demo.build_demo(seed=7, stdout=io.StringIO())
    total = Patient.objects.count()
    follow_ups = FollowUp.objects.count()
    assert 0.004 * 1500 <= total <= 0.02 * 1500
    assert follow_ups >= 3 * total
    doctor = User.objects.get(username="doctor")
    mine = visibility.patients(doctor)
    now = timezone.now()
    assert mine.filter(due_at__lt=now).exists()  # overdue
    assert mine.filter(due_at__gte=now, due_at__lt=now + dt.timedelta(days=14)).exists()  # due
    assert mine.filter(current_class="unstable").exists()
    assert DiagnosisReport.objects.filter(status="pending").count() == 3
    assert PhysicalExam.objects.exists()
    demo.build_demo(seed=7, stdout=io.StringIO())
    assert Patient.objects.count() == total and FollowUp.objects.count() == follow_ups
    police = User.objects.get(username="police")
    assert police.check_password(people_demo.DEMO_PASSWORD)
    client.force_login(doctor)
    page = client.get(reverse("workbench")).content.decode()
    assert "严重精神障碍患者随访" in page and "已逾期" in page
    indicators = client.get(reverse("smd:indicators")).content.decode()
    assert "规范管理率" in indicators and "—" not in indicators.split("indicator-total")[1][:50]


def test_it_records_the_annual_exam_with_consent(client, doctor, patient_a):
    client.force_login(doctor)
    url = reverse("smd:exam", args=[patient_a.pk])
    year = timezone.localdate().year
    refused = client.post(url, {"year": year, "exam_date": f"{year}-01-15"})
    assert "未征得同意不能登记体检结果" in refused.content.decode()
    assert not PhysicalExam.objects.exists()
    client.post(url, {"year": year, "consent": "on", "consent_by": "本人及监护人",
                      "exam_date": f"{year}-01-15", "glucose": "5.4"})  # fmt: skip
    exam = PhysicalExam.objects.get()
    assert exam.done and exam.glucose == "5.4"
    assert AuditEntry.objects.filter(action="smd.exam.record").exists()


def test_it_edits_the_supplementary_information_and_audits_the_fields(client, doctor, patient_a):
    client.force_login(doctor)
    url = reverse("smd:patient_edit", args=[patient_a.pk])
    form = client.get(url).content.decode()
    assert "监护人姓名" in form
    data = {
        "disorder": "F20",
        "icd10_code": "F20.3",
        "diagnosis_institution": "精神卫生中心",
        "diagnosis_date": "2020-05-01",
        "inpatient_times": "1",
        "guardian_name": "张母",
    }
    client.post(url, data)
    patient_a.refresh_from_db()
    assert patient_a.icd10_code == "F20.3" and patient_a.guardian_name == "张母"
    entry = AuditEntry.objects.get(action="smd.patient.update")
    assert "guardian_name" in entry.changed_fields and "张母" not in entry.reason
