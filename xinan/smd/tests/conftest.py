import datetime as dt

import pytest
from django.utils import timezone

from xinan.smd import services
from xinan.testing import factories


@pytest.fixture
def chc_a(areas):
    return factories.institution(areas["town_a"], name="华阳路街道社区卫生服务中心")


@pytest.fixture
def chc_b(areas):
    return factories.institution(areas["town_b"], name="新泾镇社区卫生服务中心")


@pytest.fixture
def doctor(chc_a):
    """精防医生 at town A's community health centre (an institution membership, as in the demo)."""
    return factories.staff("doctor", institution=chc_a, username="doctor_a", display_name="刘洋")


@pytest.fixture
def doctor_b(chc_b):
    return factories.staff("doctor", institution=chc_b, username="doctor_b")


@pytest.fixture
def police_a(areas):
    return factories.staff("police", area=areas["village_a"], username="police_a")


def register(person, actor, *, registered_on=None, **values):
    data = {
        "disorder": "F20",
        "icd10_code": "F20.0",
        "diagnosis_institution": "长宁区精神卫生中心",
        "diagnosis_date": dt.date(2020, 5, 1),
        **values,
    }
    patient = services.register_patient(person=person, values=data, actor=actor)
    if registered_on:
        type(patient).objects.filter(pk=patient.pk).update(registered_on=registered_on)
        patient.refresh_from_db()
    return patient


@pytest.fixture
def patient_a(person_a, doctor):
    return register(person_a, doctor, registered_on=dt.date(2025, 1, 1))


STABLE_VISIT = {
    "mode": "home",
    "reached": True,
    "risk_level": 0,
    "psychotic": "1",
    "insight": "1",
    "sleep": "1",
    "diet": "1",
    "social_self_care": "1",
    "social_housework": "1",
    "social_work": "2",
    "social_learning": "2",
    "social_contact": "2",
    "adherence": "1",
    "adverse": "0",
    "physical_illness": "0",
    "effect": "2",
}
DRUGS = [{"name": "利培酮", "dose": "2mg", "frequency": "每日2次"}]


def visit(patient, actor, day, drugs=None, **changes):
    return services.record_follow_up(
        patient=patient,
        values={**STABLE_VISIT, "visit_date": day, **changes},
        drugs=DRUGS if drugs is None else drugs,
        actor=actor,
    )


def late_report(person, psychiatrist, areas, *, days_ago: int = 20):
    """A new-diagnosis report filed `days_ago` days ago and never registered."""
    mhc = factories.institution(areas["district"], name="精神卫生中心", kind="mhc")
    return services.report_diagnosis(
        person=person, institution=mhc, disorder="F20", icd10_code="F20",
        diagnosis_date=dt.date(2026, 10, 1), actor=psychiatrist,
        now=timezone.now() - dt.timedelta(days=days_ago),
    )  # fmt: skip
