"""The resident's personal follow-up link: no login, a masked name, one page of items."""

import datetime as dt

import pytest
from django.utils import timezone

from xinan.cases import services
from xinan.cases.models import FollowUp, Task
from xinan.screening.models import Assessment

ANSWERS = {f"q{n}": "1" for n in range(1, 10)}


@pytest.fixture
def follow_up(identified_case, counsellor):
    return services.schedule_follow_up(
        identified_case, actor=counsellor, instrument="phq9", due_at=timezone.now(), mode="link"
    )


def test_it_shows_a_masked_name_and_the_items(client, follow_up):
    html = client.get(f"/cases/f/{follow_up.token}/").content.decode()
    assert "张*" in html and "张三" not in html
    assert "做事时提不起劲或没有兴趣" in html


def test_it_refuses_an_incomplete_form_and_saves_nothing(client, follow_up):
    r = client.post(f"/cases/f/{follow_up.token}/", {"q1": "1", "agree": "1"})
    assert r.status_code == 400 and "还有 8 题未作答" in r.content.decode()
    r = client.post(f"/cases/f/{follow_up.token}/", ANSWERS)
    assert r.status_code == 400 and "请勾选同意后提交" in r.content.decode()
    assert not Assessment.objects.exists()


def test_it_completes_the_follow_up_once(client, follow_up):
    r = client.post(f"/cases/f/{follow_up.token}/", {**ANSWERS, "agree": "1"})
    assert "已提交，谢谢您" in r.content.decode()
    follow_up.refresh_from_db()
    a = Assessment.objects.get()
    assert (follow_up.status, follow_up.assessment_id, a.total) == ("done", a.pk, 9)
    assert a.person_id == follow_up.person_id and a.mode == "self"
    assert Task.objects.get(follow_up=follow_up).status == "done"
    again = client.post(f"/cases/f/{follow_up.token}/", {**ANSWERS, "agree": "1"})
    assert "无需再填写" in again.content.decode() and Assessment.objects.count() == 1


def test_it_does_not_open_long_before_the_due_date(client, follow_up):
    FollowUp.objects.filter(pk=follow_up.pk).update(due_at=timezone.now() + dt.timedelta(days=20))
    r = client.post(f"/cases/f/{follow_up.token}/", {**ANSWERS, "agree": "1"})
    assert "复评时间未到" in r.content.decode() and not Assessment.objects.exists()


def test_it_404s_an_unknown_link(client, db):
    assert client.get("/cases/f/nope/").status_code == 404


def test_it_gives_the_rules_follow_ups_links(identified_case, counsellor, mhc, chc, chc_doctor):
    from xinan.cases.models import Trigger

    services.create_from_rules(
        identified_case, Trigger.REFERRAL_DOWN, start=timezone.now(), actor=counsellor
    )
    assert all(f.token for f in FollowUp.objects.all()) and FollowUp.objects.count() == 3
