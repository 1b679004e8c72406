import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from xinan.cases.models import Referral
from xinan.smd.models import Emergency
from xinan.testing import factories

pytestmark = pytest.mark.django_db


def _data(**changes):
    occurred = timezone.localtime() - dt.timedelta(hours=1)
    return {
        "occurred_at": occurred.strftime("%Y-%m-%dT%H:%M"),
        "triggers": ["public_safety"],
        "risk_level": "4",
        "involved": ["police", "family", "120"],
        "disposals": ["admission"],
        **changes,
    }


def test_it_refers_a_patient_sent_to_hospital_through_the_closed_loop(
    client, doctor, patient_a, areas
):
    mhc = factories.institution(areas["district"], name="长宁区精神卫生中心", kind="mhc")
    client.force_login(doctor)
    response = client.post(
        reverse("smd:emergency_new", args=[patient_a.pk]), _data(hospital_institution=mhc.pk)
    )
    assert response.status_code == 302
    e = Emergency.objects.get()
    referral = Referral.objects.get(pk=e.referral_id)
    assert referral.to_institution == mhc and referral.direction == "up"
    assert referral.urgency == "urgent" and "精神卫生法" in referral.legal_basis
    assert referral.person_id == patient_a.person_id and e.hospital == mhc.name


def test_it_saves_nothing_when_the_hospital_is_missing(client, doctor, patient_a):
    client.force_login(doctor)
    response = client.post(reverse("smd:emergency_new", args=[patient_a.pk]), _data())
    assert "送医住院或转诊时请填写送往医院" in response.content.decode()
    assert not Emergency.objects.exists() and not Referral.objects.exists()


def test_it_records_an_outside_hospital_as_text_without_a_referral(client, doctor, patient_a):
    client.force_login(doctor)
    client.post(reverse("smd:emergency_new", args=[patient_a.pk]), _data(hospital="外省某医院"))
    e = Emergency.objects.get()
    assert e.hospital == "外省某医院" and e.referral_id is None
