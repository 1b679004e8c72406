import datetime as dt

import pytest
from django.utils import timezone

from xinan.accounts.models import Membership
from xinan.cases import services
from xinan.cases.models import CaseSource
from xinan.core.events import Event
from xinan.core.models import InstitutionKind
from xinan.testing import factories


@pytest.fixture
def chc(areas):
    return factories.institution(areas["town_a"], "华阳路街道社区卫生服务中心")


@pytest.fixture
def mhc(areas):
    return factories.institution(
        areas["district"], "长宁区精神卫生中心", InstitutionKind.MENTAL_HEALTH_CENTRE
    )


@pytest.fixture
def chc_doctor(chc):
    return factories.staff("doctor", institution=chc, username="doc_chc")


@pytest.fixture
def mhc_psychiatrist(psychiatrist, mhc):
    """The district psychiatrist, also on the mental health centre's staff."""
    Membership.objects.create(user=psychiatrist, role="psychiatrist", institution=mhc)
    return psychiatrist


@pytest.fixture
def case_a(person_a, counsellor):
    case, _ = services.open_case(
        person_a, actor=counsellor, source=CaseSource.MANUAL, line="general"
    )
    return case


@pytest.fixture
def identified_case(case_a, counsellor):
    return services.move_case(
        case_a, to="identify", actor=counsellor, judgement="中度抑郁", basis="PHQ-9 15分，面谈"
    )


def event(topic: str, payload: dict, pk: int = 1) -> Event:
    return Event(id=pk, topic=topic, payload=payload, created_at=timezone.now())


def scored(person, *, total=15.0, positive=True, pk=101, instrument="phq9", at=None) -> dict:
    return {
        "assessment_id": pk,
        "person_id": person.pk,
        "instrument": instrument,
        "version": "1",
        "total": total,
        "band": "moderate",
        "positive": positive,
        "critical": [],
        "area_code": person.home_area_id,
        "anonymous": False,
        "previous_total": None,
        "mode": "self",
        "submitted_at": (at or timezone.now()).isoformat(),
    }


def hours(n: float) -> dt.timedelta:
    return dt.timedelta(hours=n)
