import pytest

from xinan.core import outbox
from xinan.core.models import AuditEntry, OutboxEvent
from xinan.screening import campaigns, services
from xinan.screening.models import Assessment, Mode

PHQ9_MILD = [1, 1, 1, 1, 1, 0, 0, 0, 0]


def submit(person=None, answers=PHQ9_MILD, **kwargs):
    kwargs.setdefault("actor", None)
    return services.submit_assessment(
        instrument_code="PHQ-9", answers=answers, mode=Mode.SELF, person=person, **kwargs
    )


def test_it_saves_the_assessment_with_its_audit_and_outbox_rows(person_a):
    a = submit(person_a)
    assert (a.total, a.band, a.positive, a.critical) == (5, "mild", False, [])
    assert a.area_code == person_a.home_area_id
    entry = AuditEntry.objects.get(action="screening.assessment.submit")
    assert entry.object_id == str(a.pk) and entry.area_code == person_a.home_area_id
    event = OutboxEvent.objects.get(topic="assessment.scored")
    assert set(event.payload) == {
        "assessment_id",
        "person_id",
        "instrument",
        "version",
        "total",
        "band",
        "positive",
        "critical",
        "area_code",
        "anonymous",
        "previous_total",
        "mode",
        "submitted_at",
    }
    assert event.payload["assessment_id"] == a.pk
    assert event.payload["person_id"] == person_a.pk
    assert event.payload["anonymous"] is False
    assert event.payload["previous_total"] is None


def test_it_writes_nothing_when_the_outbox_write_fails(person_a, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(outbox, "emit", boom)
    with pytest.raises(RuntimeError):
        submit(person_a)
    assert not Assessment.objects.exists()
    assert not AuditEntry.objects.filter(action="screening.assessment.submit").exists()


def test_it_carries_the_previous_total_and_critical_items(person_a):
    submit(person_a)
    a = submit(person_a, answers=[3, 3, 3, 3, 3, 3, 3, 3, 2])
    event = OutboxEvent.objects.filter(topic="assessment.scored").last()
    assert event.payload["previous_total"] == 5
    [hit] = event.payload["critical"]
    assert (hit["item"], hit["answer"]) == ("9", 2) and hit["level"]
    assert a.positive and a.band == "severe"


def test_it_takes_the_campaign_area_for_anonymous_answers(areas, district_admin):
    import datetime as dt

    campaign = campaigns.create_campaign(
        campaigns.CampaignData(
            name="秋季筛查",
            area=areas["town_a"],
            instruments=("PHQ-9",),
            starts_on=dt.date(2026, 1, 1),
            ends_on=dt.date(2026, 12, 31),
        ),
        actor=district_admin,
    )
    a = submit(campaign=campaign)
    event = OutboxEvent.objects.get(topic="assessment.scored")
    assert a.area_code == areas["town_a"].code == event.payload["area_code"]
    assert event.payload["anonymous"] is True and event.payload["person_id"] is None


def test_it_refuses_wrong_answers_with_a_chinese_message(person_a):
    with pytest.raises(services.ScreeningError) as exc:
        submit(person_a, answers=[1, 2, 3])
    assert "答案" in exc.value.message
    assert not OutboxEvent.objects.exists()


def test_it_returns_the_same_assessment_for_the_same_idempotency_key(person_a):
    first = submit(person_a, idempotency_key="k1")
    again = submit(person_a, idempotency_key="k1")
    assert first.pk == again.pk
    assert Assessment.objects.count() == 1 == OutboxEvent.objects.count()


def test_it_lists_assessments_only_inside_the_scope(person_a, person_b, grid_worker):
    mine = submit(person_a)
    submit(person_b)
    submit()  # anonymous: never person-level
    assert list(services.assessments_for(grid_worker)) == [mine]


def test_it_shows_scores_to_counsellors_not_grid_workers(person_a, grid_worker, counsellor):
    assert services.shows_scores(counsellor, person_a)
    assert not services.shows_scores(grid_worker, person_a)
