import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from xinan.core.models import OutboxEvent
from xinan.network import sweeps, talent, trainings
from xinan.network.models import (
    Certificate,
    Course,
    Professional,
    TrainingCertificate,
    TrainingSession,
)
from xinan.network.services import NetworkError
from xinan.testing import factories


@pytest.fixture
def pro(areas):
    return Professional.objects.create(name="陈静", kind="counsellor", area=areas["town_a"])


def test_it_refuses_an_expired_certificate(pro):
    with pytest.raises(NetworkError) as exc:
        talent.add_certificate(
            pro,
            actor=None,
            name="心理咨询师",
            number="A1",
            issuer="人社局",
            expires_on=timezone.localdate() - dt.timedelta(days=1),
        )
    assert "过期" in exc.value.message and not Certificate.objects.exists()


def test_it_refuses_a_certificate_number_twice(pro):
    fields = {"name": "心理咨询师", "number": "A1", "issuer": "人社局"}
    talent.add_certificate(pro, actor=None, **fields)
    with pytest.raises(NetworkError) as exc:
        talent.add_certificate(pro, actor=None, **fields)
    assert exc.value.message == "该发证机构的这个证书编号已登记过"


def test_the_sweep_warns_once_before_a_certificate_lapses(pro):
    today = timezone.localdate()
    soon = talent.add_certificate(
        pro,
        actor=None,
        name="证1",
        number="1",
        issuer="人社局",
        expires_on=today + dt.timedelta(days=20),
    )
    talent.add_certificate(
        pro,
        actor=None,
        name="证2",
        number="2",
        issuer="人社局",
        expires_on=today + dt.timedelta(days=200),
    )
    now = timezone.now()
    assert sweeps.warn_expiring_certificates(now) == 1
    assert sweeps.warn_expiring_certificates(now) == 0
    event = OutboxEvent.objects.get(topic="network.certificate_expiring")
    assert event.payload["certificate_id"] == soon.pk
    assert event.payload["expires_on"] == soon.expires_on.isoformat()


def _session(course, site, starts_at, hours=2):
    return trainings.save_session(
        TrainingSession(
            course=course,
            topic="危机识别",
            trainer="赵医生",
            starts_at=starts_at,
            ends_at=starts_at + dt.timedelta(hours=hours),
            hours=Decimal(hours),
            site=site,
        ),
        actor=None,
    )


def test_qr_check_in_counts_hours_and_certifies_the_course(areas, pro, resident_user):
    pro.user = resident_user  # any login may be linked to a professional
    pro.save()
    site = factories.service_site(areas["town_a"], "驿站")
    course = Course.objects.create(title="能力提升", topic="社区心理", area=areas["district"])
    now = timezone.now()
    first = _session(course, site, now - dt.timedelta(minutes=30))
    second = _session(course, site, now + dt.timedelta(days=7), hours=3)
    token = trainings.checkin_token(first)
    assert trainings.session_for_token(token) == first
    assert trainings.session_for_token(token + "x") is None
    with pytest.raises(NetworkError):
        trainings.check_in(second, pro, actor=None, now=now)  # a week early
    trainings.check_in(first, pro, actor=None, now=now)
    trainings.check_in(first, pro, actor=None, now=now)  # scanned twice
    assert trainings.hours_of(pro) == Decimal(2) and not TrainingCertificate.objects.exists()
    trainings.check_in(second, pro, actor=None, now=second.starts_at)
    assert trainings.hours_of(pro) == Decimal(5)
    assert TrainingCertificate.objects.get().professional == pro
    figures = trainings.person_times(
        "310105",
        start=timezone.localdate() - dt.timedelta(days=1),
        end=timezone.localdate() + dt.timedelta(days=8),
    )
    assert figures["total"] == 2 and figures["by_kind"] == {"counsellor": 2}
    assert figures["by_town"] == {"310105001": 2} and figures["hours"] == Decimal(5)


def test_the_check_in_page_signs_the_professional_in(client, areas, pro, resident_user):
    pro.user = resident_user
    pro.save()
    course = Course.objects.create(title="能力提升", topic="社区心理", area=areas["district"])
    site = factories.service_site(areas["town_a"], "驿站")
    session = _session(course, site, timezone.now())
    url = f"/network/checkin/{trainings.checkin_token(session)}/"
    assert client.get(url).status_code == 302  # log in first
    client.force_login(resident_user)
    assert "陈静 确认签到" in client.get(url).content.decode()
    assert "签到成功" in client.post(url).content.decode()
    assert session.enrolments.get().attended_at is not None
    assert "签到链接无效" in client.get("/network/checkin/forged/").content.decode()


def test_a_professionals_page_shows_what_the_platform_recorded(client, areas, town_admin, pro):
    from xinan.booking import services as booking
    from xinan.booking import slots

    site = factories.service_site(areas["town_a"], "驿站")
    counsellor = factories.counsellor_with_hours(areas["town_a"], site, username="cj")
    pro.user = counsellor
    pro.save()
    person = factories.PersonFactory(home_area=areas["grid_a"])
    slot = slots.slots_for(counsellor, site=site)[0]
    a = booking.book(person, counsellor=counsellor, starts_at=slot.starts_at, actor=None)
    booking.complete(a, actor=counsellor, now=a.ends_at)
    client.force_login(town_admin)
    body = client.get(f"/network/manage/professionals/{pro.pk}/").content.decode()
    assert 'data-testid="sessions-delivered">1<' in body and "驿站" in body


def test_search_and_export_are_formula_safe(client, areas, town_admin, pro):
    Professional.objects.create(
        name="=HYPERLINK(1)", kind="volunteer", area=areas["town_a"], specialties="亲子"
    )
    Professional.objects.create(name="外街镇", kind="volunteer", area=areas["town_b"])
    client.force_login(town_admin)
    body = client.get("/network/manage/professionals/", {"q": "亲子"}).content.decode()
    assert "HYPERLINK" in body and "陈静" not in body and "外街镇" not in body
    response = client.get("/network/manage/professionals/", {"format": "xlsx"})
    rows = list(load_workbook(io.BytesIO(response.content)).active.values)
    names = sorted(r[0] for r in rows[1:])
    assert names == ["'=HYPERLINK(1)", "陈静"]


def test_it_404s_outside_scope(client, areas, town_admin):
    theirs = Professional.objects.create(name="外", kind="volunteer", area=areas["town_b"])
    client.force_login(town_admin)
    assert client.get(f"/network/manage/professionals/{theirs.pk}/").status_code == 404
    assert client.get(f"/network/manage/professionals/{theirs.pk}/edit/").status_code == 404


def test_the_training_page_shows_person_times(client, areas, district_admin, pro):
    course = Course.objects.create(title="能力提升", topic="社区心理", area=areas["district"])
    site = factories.service_site(areas["town_a"], "驿站")
    session = _session(course, site, timezone.now())
    trainings.check_in(session, pro, actor=None, method="manual")
    client.force_login(district_admin)
    body = client.get("/network/manage/trainings/").content.decode()
    assert 'data-testid="person-times">1<' in body and "心理咨询师" in body
    body = client.get(f"/network/manage/trainings/sessions/{session.pk}/").content.decode()
    assert "<svg" in body and "/network/checkin/" in body and "陈静" in body


def test_an_admin_builds_a_team_in_their_area(client, areas, town_admin, pro):
    from xinan.network.models import Team

    theirs = Team.objects.create(name="新泾队", kind="volunteer", area=areas["town_b"])
    client.force_login(town_admin)
    client.post(
        "/network/manage/teams/",
        {"name": "华阳路危机干预队", "kind": "crisis", "area": areas["town_a"].code},
    )
    team = Team.objects.get(name="华阳路危机干预队")
    client.post(f"/network/manage/teams/{team.pk}/members/", {"professional": pro.pk})
    assert list(team.members.all()) == [pro]
    body = client.get("/network/manage/teams/").content.decode()
    assert "华阳路危机干预队" in body and "陈静" in body and "新泾队" not in body
    response = client.post(f"/network/manage/teams/{theirs.pk}/members/", {"professional": pro.pk})
    assert response.status_code == 404 and not theirs.members.exists()
    body = client.post(
        "/network/manage/teams/", {"name": "越权", "kind": "crisis", "area": areas["town_b"].code}
    )
    assert not Team.objects.filter(name="越权").exists()
