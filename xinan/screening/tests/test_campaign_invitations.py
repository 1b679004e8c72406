"""Per-person campaign invitations: issuing, the list, the personal link, the counts."""

import csv
import datetime as dt
import io
import time

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from xinan.core import worker
from xinan.core.models import AuditEntry, Job, OutboxEvent
from xinan.people.models import Consent, PopulationTag
from xinan.screening import campaign_report, campaigns, invitation_link, services
from xinan.screening.models import (
    Assessment,
    AssessmentDraft,
    CampaignInvitation,
    InvitationRun,
)
from xinan.testing import factories

TODAY = dt.date(2026, 10, 15)
NOON = dt.datetime(2026, 10, 15, 12, 0)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOON, tick=False):
        yield


def make_campaign(area, admin, **kwargs):
    data = (
        dict(
            name="2026秋季抑郁筛查",
            area=area,
            instruments=("PHQ-9",),
            starts_on=dt.date(2026, 9, 1),
            ends_on=dt.date(2026, 12, 31),
        )
        | kwargs
    )
    return campaigns.create_campaign(campaigns.CampaignData(**data), actor=admin)


def people(area, n, **kwargs):
    return [factories.PersonFactory(home_area=area, **kwargs) for _ in range(n)]


def answer_by_service(invitation, answers, code="PHQ-9"):
    inst = services.instrument(code)
    draft = invitation_link.start_invitation_draft(invitation, inst)
    for value in answers:
        services.answer_item(draft, inst, str(value))
    return invitation_link.finish_invitation_draft(invitation, draft, inst)


def answer_by_link(client, invitation, answers, code="PHQ-9"):
    link = reverse("screening:campaign_invitation", args=[invitation.token])
    client.post(link, {"agree": "1", "code": code})
    question = reverse("screening:campaign_invitation_question", args=[invitation.token, code])
    response = None
    for value in answers:
        response = client.post(question, {"answer": str(value)})
    return response


NEGATIVE = [0] * 9
POSITIVE = [3] * 8 + [0]


# ---------------------------------------------------------------- issuing


def test_it_invites_each_targeted_person_once(areas, district_admin):
    campaign = make_campaign(areas["district"], district_admin)
    people(areas["grid_a"], 2)
    people(areas["grid_b"], 1)
    assert campaigns.issue_invitations(campaign, actor=district_admin) == 3
    assert campaigns.issue_invitations(campaign, actor=district_admin) == 0
    newcomer = factories.PersonFactory(home_area=areas["grid_a2"])
    assert campaigns.issue_invitations(campaign, actor=district_admin) == 1
    invitation = CampaignInvitation.objects.get(person=newcomer)
    assert invitation.area_code == areas["grid_a2"].code
    assert invitation.issued_by == district_admin and invitation.completed_at is None
    assert len(invitation.token) >= 20
    assert CampaignInvitation.objects.values("token").distinct().count() == 4
    entries = AuditEntry.objects.filter(action="screening.invitation.issue")
    assert entries.count() == 3 and entries.first().area_code == areas["district"].code


def test_it_invites_only_the_targeted_tags_and_ages(areas, district_admin):
    elderly = PopulationTag.objects.get(code="elderly")
    campaign = make_campaign(
        areas["district"], district_admin, tags=(elderly,), age_min=60, age_max=79
    )
    old = factories.PersonFactory(home_area=areas["grid_a"], birth_date=dt.date(1950, 1, 1))
    old.tags.add(elderly)
    too_old = factories.PersonFactory(home_area=areas["grid_a"], birth_date=dt.date(1940, 1, 1))
    too_old.tags.add(elderly)
    factories.PersonFactory(home_area=areas["grid_a"], birth_date=dt.date(1950, 1, 1))  # no tag
    assert campaigns.issue_invitations(campaign, actor=district_admin) == 1
    assert CampaignInvitation.objects.get().person == old


def test_it_issues_in_bulk_not_row_by_row(areas, district_admin, django_assert_max_num_queries):
    campaign = make_campaign(areas["district"], district_admin)
    people(areas["grid_a"], 60)
    with django_assert_max_num_queries(12):
        assert campaigns.issue_invitations(campaign, actor=district_admin) == 60


def test_it_refuses_to_invite_after_the_campaign_ended(areas, district_admin):
    campaign = make_campaign(
        areas["district"], district_admin, starts_on=dt.date(2026, 1, 1), ends_on=TODAY
    )
    people(areas["grid_a"], 1)
    later = time_machine.travel(NOON + dt.timedelta(days=1), tick=False)
    with later, pytest.raises(services.ScreeningError) as exc:
        campaigns.issue_invitations(campaign, actor=district_admin)
    assert "已结束" in exc.value.message
    assert not CampaignInvitation.objects.exists()


def test_a_town_admin_runs_a_district_campaign_for_their_town_only(
    client, areas, district_admin, town_admin
):
    campaign = make_campaign(areas["district"], district_admin)
    people(areas["grid_a"], 2)
    [other] = people(areas["grid_b"], 1)
    assert campaigns.issue_invitations(campaign, actor=town_admin) == 2
    assert not CampaignInvitation.objects.filter(person=other).exists()
    client.force_login(town_admin)
    page = client.get(reverse("screening:campaign", args=[campaign.pk])).content.decode()
    assert "华阳路街道您管辖范围内的目标人群 2 人" in page
    assert "新泾镇" not in page and "淞虹" not in page
    url = reverse("screening:campaign", args=[campaign.pk])
    assert client.get(url + f"?area={areas['town_b'].code}").status_code == 404
    assert client.get(url + f"?area={areas['district'].code}").status_code == 404
    # The district admin invites the rest; the town admin's list still holds only their town.
    assert campaigns.issue_invitations(campaign, actor=district_admin) == 1
    body = download(client, campaign)
    assert len(body) == 3 and all(row[2].startswith(areas["town_a"].prefix) for row in body[1:])


def test_an_admin_of_one_town_cannot_see_another_towns_campaign(client, areas, district_admin):
    campaign = make_campaign(areas["town_a"], district_admin)
    admin_b = factories.staff("area_admin", area=areas["town_b"], username="admin_b")
    client.force_login(admin_b)
    for name in ("screening:campaign", "screening:campaign_invitations_download"):
        assert client.get(reverse(name, args=[campaign.pk])).status_code == 404
    issue = reverse("screening:campaign_invitations_issue", args=[campaign.pk])
    assert client.post(issue).status_code == 404
    assert not CampaignInvitation.objects.exists()


def test_it_404s_issuing_for_staff_who_are_not_admins(client, areas, district_admin, counsellor):
    campaign = make_campaign(areas["district"], district_admin)
    people(areas["grid_a"], 1)
    client.force_login(counsellor)
    issue = reverse("screening:campaign_invitations_issue", args=[campaign.pk])
    assert client.post(issue).status_code == 404
    assert not CampaignInvitation.objects.exists()


def test_it_issues_from_the_campaign_page(client, areas, district_admin):
    campaign = make_campaign(areas["district"], district_admin)
    people(areas["grid_a"], 3)
    client.force_login(district_admin)
    issue = reverse("screening:campaign_invitations_issue", args=[campaign.pk])
    response = client.post(issue, follow=True)
    assert "已发出 3 份新的邀请" in response.content.decode()
    response = client.post(issue, follow=True)
    assert "目标人群都已邀请过" in response.content.decode()
    assert client.get(issue).status_code == 405


def test_a_run_records_how_many_it_found_and_issued(areas, district_admin):
    campaign = make_campaign(areas["district"], district_admin)
    people(areas["grid_a"], 3)
    run = campaigns.start_issuing(campaign, actor=district_admin)
    assert (run.finished, run.total, run.issued, run.percent, run.error) == (True, 3, 3, 100, "")
    again = campaigns.start_issuing(campaign, actor=district_admin)
    assert again.pk != run.pk and (again.total, again.issued) == (0, 0)
    assert campaigns.latest_run(campaign, district_admin) == again


def test_a_second_click_while_issuing_shows_the_same_run(areas, district_admin):
    campaign = make_campaign(areas["district"], district_admin)
    people(areas["grid_a"], 2)
    going = InvitationRun.objects.create(campaign=campaign, started_by=district_admin, total=9)
    assert campaigns.start_issuing(campaign, actor=district_admin) == going
    assert not CampaignInvitation.objects.exists()
    # A run its process never finished is left behind after RUN_STALE_MINUTES.
    with time_machine.travel(NOON + dt.timedelta(minutes=campaigns.RUN_STALE_MINUTES + 1)):
        fresh = campaigns.start_issuing(campaign, actor=district_admin)
    assert fresh != going and fresh.issued == 2


@pytest.mark.django_db(transaction=True)
def test_issuing_runs_as_a_job_in_committed_batches(areas, settings, monkeypatch):
    settings.SCREENING_IMPORT_INLINE = False
    monkeypatch.setattr(campaigns, "ISSUE_BATCH", 2)
    admin = factories.staff("area_admin", area=areas["district"], username="admin_bg")
    campaign = make_campaign(areas["district"], admin)
    people(areas["grid_a"], 5)
    seen = []
    real_insert = campaigns._insert_invitations

    def watched(cursor, *args):
        added = real_insert(cursor, *args)
        seen.append(added)
        return added

    monkeypatch.setattr(campaigns, "_insert_invitations", watched)
    run = campaigns.start_issuing(campaign, actor=admin)
    job = Job.objects.get()
    assert (job.status, job.created_by, job.task_path) == (
        "READY",
        admin,
        "xinan.screening.campaigns.issue_run",
    )
    w = worker.Worker(["jobs"]).start()  # a worker's jobs lane runs it
    try:
        for _ in range(200):
            run.refresh_from_db()
            if run.finished:
                break
            time.sleep(0.05)
    finally:
        w.shutdown()
    assert (run.finished, run.total, run.issued, run.error) == (True, 5, 5, "")
    assert seen == [2, 2, 1] and CampaignInvitation.objects.count() == 5
    assert AuditEntry.objects.filter(action="screening.invitation.issue").count() == 1


def test_the_page_polls_a_running_issue_and_stops_when_done(client, areas, district_admin):
    campaign = make_campaign(areas["district"], district_admin)
    run = InvitationRun.objects.create(
        campaign=campaign, started_by=district_admin, total=1000, issued=500
    )
    client.force_login(district_admin)
    page = client.get(reverse("screening:campaign", args=[campaign.pk])).content.decode()
    progress = reverse("screening:campaign_invitations_progress", args=[campaign.pk])
    assert "正在发出邀请：500 / 1000" in page and 'value="50"' in page
    assert f'hx-get="{progress}"' in page and 'hx-trigger="every 1s"' in page
    InvitationRun.objects.filter(pk=run.pk).update(issued=1000, finished_at=timezone.now())
    card = client.get(progress, HTTP_HX_REQUEST="true").content.decode()
    assert "上次发放：新发出 1000 份" in card and "hx-get" not in card
    assert "刷新页面查看最新名单和统计" in card
    # Another admin's run is not this admin's business.
    other = factories.staff("area_admin", area=areas["town_a"], username="admin_other")
    client.force_login(other)
    assert "正在发出" not in client.get(progress).content.decode()


def test_a_failed_run_says_so_and_a_second_one_finishes_the_job(
    client, areas, district_admin, monkeypatch
):
    campaign = make_campaign(areas["district"], district_admin)
    people(areas["grid_a"], 3)
    monkeypatch.setattr(campaigns, "ISSUE_BATCH", 2)
    real_insert = campaigns._insert_invitations
    calls = []

    def dies_on_second_batch(cursor, *args):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real_insert(cursor, *args)

    monkeypatch.setattr(campaigns, "_insert_invitations", dies_on_second_batch)
    client.force_login(district_admin)
    issue = reverse("screening:campaign_invitations_issue", args=[campaign.pk])
    page = client.post(issue, follow=True).content.decode()
    assert "发放中断，请稍后重试" in page
    assert CampaignInvitation.objects.count() == 2  # the first batch stays
    monkeypatch.setattr(campaigns, "_insert_invitations", real_insert)
    page = client.post(issue, follow=True).content.decode()
    assert "已发出 1 份新的邀请" in page and CampaignInvitation.objects.count() == 3


# ---------------------------------------------------------------- the list


def download(client, campaign):
    response = client.get(reverse("screening:campaign_invitations_download", args=[campaign.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_it_downloads_the_list_with_masked_names_areas_and_links(
    client, areas, district_admin, person_a
):
    campaign = make_campaign(areas["district"], district_admin)
    campaigns.issue_invitations(campaign, actor=district_admin)
    invitation = CampaignInvitation.objects.get()
    client.force_login(district_admin)
    header, row = download(client, campaign)
    assert header == ["编号", "姓名", "区划代码", "地区", "个人链接", "状态"]
    assert row == [
        str(invitation.pk),
        "张*",
        areas["grid_a"].code,
        "安顺居委会第1网格",
        f"http://testserver/screening/i/{invitation.token}/",
        "未完成",
    ]
    entry = AuditEntry.objects.get(action="screening.invitation.export")
    assert entry.actor == district_admin and entry.object_id == str(campaign.pk)


def test_the_list_holds_no_full_name_id_number_or_phone(client, areas, district_admin, person_a):
    campaign = make_campaign(areas["district"], district_admin)
    campaigns.issue_invitations(campaign, actor=district_admin)
    client.force_login(district_admin)
    text = "\n".join(",".join(r) for r in download(client, campaign))
    assert "张三" not in text and person_a.id_number not in text and "13912345678" not in text


# ---------------------------------------------------------------- printed slips and new links


def print_page(client, campaign, **query):
    url = reverse("screening:campaign_invitations_print", args=[campaign.pk])
    response = client.get(url, query)
    assert response.status_code == 200
    return response.content.decode()


def test_it_prints_a_slip_with_a_qr_code_per_open_invitation(
    client, areas, district_admin, person_a
):
    campaign = make_campaign(areas["district"], district_admin)
    people(areas["grid_b"], 2)
    campaigns.issue_invitations(campaign, actor=district_admin)
    done = CampaignInvitation.objects.exclude(person=person_a).first()
    answer_by_service(done, NEGATIVE)
    client.force_login(district_admin)
    page = print_page(client, campaign, area=areas["district"].code)
    assert page.count('class="slip"') == 2  # the completed one is left out
    assert page.count("<svg") == 2
    invitation = CampaignInvitation.objects.get(person=person_a)
    assert f"/screening/i/{invitation.token}/" in page and done.token not in page
    assert "张*" in page and "张三" not in page and person_a.id_number not in page
    assert (
        print_page(client, campaign, area=areas["district"].code, all="1").count('class="slip"')
        == 3
    )
    entry = AuditEntry.objects.filter(action="screening.invitation.print").order_by("pk").first()
    assert entry.actor == district_admin and entry.reason == "长宁区，第 1/1 页，2 份"


def test_a_large_area_prints_page_by_page_or_by_sub_area(
    client, areas, district_admin, monkeypatch
):
    monkeypatch.setattr(campaigns, "PRINT_LIMIT", 2)
    campaign = make_campaign(areas["district"], district_admin)
    people(areas["grid_a"], 2)
    people(areas["grid_b"], 1)
    campaigns.issue_invitations(campaign, actor=district_admin)
    client.force_login(district_admin)
    first = print_page(client, campaign, area=areas["district"].code)
    assert first.count('class="slip"') == 2 and "这是第 1 / 2 页" in first
    assert f"?area={areas['town_a'].code}" in first  # or sub-area by sub-area
    second = print_page(client, campaign, area=areas["district"].code, page="2")
    assert second.count('class="slip"') == 1 and "这是第 2 / 2 页" in second
    tokens = set(CampaignInvitation.objects.values_list("token", flat=True))
    assert {t for t in tokens if t in first or t in second} == tokens  # each once, none lost
    assert (
        print_page(client, campaign, area=areas["district"].code, page="9").count('class="slip"')
        == 1
    )  # past the end: the last page
    assert (
        print_page(client, campaign, area=areas["district"].code, page="x").count('class="slip"')
        == 2
    )
    reasons = AuditEntry.objects.filter(action="screening.invitation.print").values_list(
        "reason", flat=True
    )
    assert "长宁区，第 2/2 页，1 份" in set(reasons)


def test_a_town_admin_prints_only_their_town(client, areas, district_admin, town_admin):
    campaign = make_campaign(areas["district"], district_admin)
    people(areas["grid_a"], 1)
    people(areas["village_b"], 1)
    campaigns.issue_invitations(campaign, actor=district_admin)
    client.force_login(town_admin)
    page = print_page(client, campaign)
    assert page.count('class="slip"') == 1 and areas["village_b"].name not in page


def test_a_new_link_replaces_the_old_one(client, areas, district_admin, person_a):
    campaign = make_campaign(areas["district"], district_admin)
    campaigns.issue_invitations(campaign, actor=district_admin)
    invitation = CampaignInvitation.objects.get(person=person_a)
    answer_by_service(invitation, NEGATIVE)
    old = invitation.token
    client.force_login(district_admin)
    url = reverse("screening:campaign_invitation_reissue", args=[campaign.pk, invitation.pk])
    assert client.get(url).status_code == 405
    response = client.post(url, follow=True)
    assert "已为 张* 生成新的链接，旧链接已失效" in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.token != old and invitation.assessments.count() == 1
    client.logout()
    gone = client.get(reverse("screening:campaign_invitation", args=[old]))
    assert gone.status_code == 404 and "邀请链接无效" in gone.content.decode()
    assert (
        client.get(reverse("screening:campaign_invitation", args=[invitation.token])).status_code
        == 200
    )
    entry = AuditEntry.objects.get(action="screening.invitation.reissue")
    assert entry.object_id == str(invitation.pk) and entry.area_code == person_a.home_area_id


def test_only_an_admin_over_the_person_renews_a_link(
    client, areas, district_admin, town_admin, counsellor
):
    campaign = make_campaign(areas["district"], district_admin)
    (other,) = people(areas["village_b"], 1)
    campaigns.issue_invitations(campaign, actor=district_admin)
    invitation = CampaignInvitation.objects.get(person=other)
    url = reverse("screening:campaign_invitation_reissue", args=[campaign.pk, invitation.pk])
    for user in (town_admin, counsellor):  # another town's admin; staff who are not admins
        client.force_login(user)
        assert client.post(url).status_code == 404
    assert CampaignInvitation.objects.get(pk=invitation.pk).token == invitation.token


def test_an_ended_campaign_renews_no_links(areas, district_admin, person_a):
    campaign = make_campaign(areas["district"], district_admin)
    campaigns.issue_invitations(campaign, actor=district_admin)
    invitation = CampaignInvitation.objects.get()
    ended = time_machine.travel(dt.datetime(2027, 1, 5, 12, 0), tick=False)
    with ended, pytest.raises(services.ScreeningError, match="活动已结束"):
        campaigns.reissue_invitation(campaign, district_admin, invitation.pk)


def test_it_masks_names():
    assert campaigns.mask_name("张三") == "张*"
    assert campaigns.mask_name("欧阳娜娜") == "欧***"
    assert campaigns.mask_name(" 王 ") == "王"
    assert campaigns.mask_name("") == ""


# ---------------------------------------------------------------- the personal link


@pytest.fixture
def invitation(areas, district_admin, person_a):
    campaign = make_campaign(areas["district"], district_admin)
    campaigns.issue_invitations(campaign, actor=district_admin)
    return CampaignInvitation.objects.select_related("campaign").get(person=person_a)


def test_the_link_shows_consent_first_and_a_masked_name_only(client, invitation, person_a):
    response = client.get(reverse("screening:campaign_invitation", args=[invitation.token]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "开始前请您了解" in page and "张*，您好" in page and "2026秋季抑郁筛查" in page
    assert "张三" not in page and person_a.id_number_masked not in page
    assert "1391" not in page and "安顺" not in page
    question = reverse("screening:campaign_invitation_question", args=[invitation.token, "PHQ-9"])
    assert client.get(question).url == reverse(
        "screening:campaign_invitation", args=[invitation.token]
    )


def test_it_does_not_start_without_consent(client, invitation):
    link = reverse("screening:campaign_invitation", args=[invitation.token])
    response = client.post(link, {"code": "PHQ-9"})
    assert "需要您同意后才能开始自测" in response.content.decode()
    assert not AssessmentDraft.objects.exists() and not Consent.objects.exists()


def test_it_completes_an_assessment_through_the_link(client, invitation, person_a):
    response = answer_by_link(client, invitation, POSITIVE)
    a = Assessment.objects.get()
    assert response.url == reverse("screening:result", args=[a.pk])
    assert a.person == person_a and a.campaign == invitation.campaign
    assert a.mode == "self" and a.entered_by is None and a.positive
    invitation.refresh_from_db()
    assert invitation.completed_at is not None and invitation.positive
    assert list(invitation.assessments.all()) == [a]
    consent = Consent.objects.get(person=person_a)
    assert consent.kind == "assessment" and consent.granted
    entry = AuditEntry.objects.get(action="screening.invitation.answer")
    assert entry.actor_label == "anonymous" and entry.reason == f"PHQ-9 #{a.pk}"
    event = OutboxEvent.objects.get(topic="assessment.scored")
    assert event.payload["person_id"] == person_a.pk and event.payload["anonymous"] is False
    # The result opens for this browser, and the link now says it is done.
    assert client.get(response.url).status_code == 200
    page = client.get(reverse("screening:campaign_invitation", args=[invitation.token]))
    assert "您已完成本次筛查" in page.content.decode()


def test_a_finished_scale_cannot_be_answered_again(client, invitation):
    answer_by_link(client, invitation, NEGATIVE)
    link = reverse("screening:campaign_invitation", args=[invitation.token])
    response = client.post(link, {"agree": "1", "code": "PHQ-9"}, follow=True)
    assert "这份量表您已经完成了" in response.content.decode()
    assert Assessment.objects.count() == 1


def test_a_campaign_with_two_scales_is_completed_by_the_second(
    client, areas, district_admin, person_a
):
    campaign = make_campaign(areas["district"], district_admin, instruments=("PHQ-9", "GAD-7"))
    campaigns.issue_invitations(campaign, actor=district_admin)
    invitation = CampaignInvitation.objects.get()
    response = answer_by_link(client, invitation, NEGATIVE)
    page = client.get(response.url).content.decode()
    assert "本次筛查还有 1 份量表" in page
    invitation.refresh_from_db()
    assert invitation.completed_at is None
    answer_by_link(client, invitation, [0] * 7, code="GAD-7")
    invitation.refresh_from_db()
    assert invitation.completed_at is not None and invitation.assessments.count() == 2


def test_a_licensed_scale_is_left_to_staff_and_does_not_hold_up_completion(
    client, areas, district_admin, person_a, licensed_only
):
    campaign = make_campaign(areas["district"], district_admin, instruments=("PHQ-9", "LOCKED-1"))
    campaigns.issue_invitations(campaign, actor=district_admin)
    invitation = CampaignInvitation.objects.get()
    link = reverse("screening:campaign_invitation", args=[invitation.token])
    page = client.get(link).content.decode()
    assert "该量表需由工作人员协助完成" in page and page.count('name="agree"') == 1
    response = client.post(link, {"agree": "1", "code": "LOCKED-1"}, follow=True)
    assert "条目文本未安装" in response.content.decode()
    answer_by_link(client, invitation, NEGATIVE)
    invitation.refresh_from_db()
    assert invitation.completed_at is not None
    assert "您已完成本次筛查" in client.get(link).content.decode()


def test_the_draft_cookie_of_one_link_does_not_open_another(client, areas, invitation):
    link = reverse("screening:campaign_invitation", args=[invitation.token])
    client.post(link, {"agree": "1", "code": "PHQ-9"})
    other_person = factories.PersonFactory(home_area=areas["grid_a"])
    other = CampaignInvitation.objects.create(
        campaign=invitation.campaign,
        person=other_person,
        area_code=other_person.home_area_id,
        issued_by=invitation.issued_by,
    )
    draft = AssessmentDraft.objects.get()
    client.cookies["screening_invite_PHQ-9"] = draft.token  # even with the cookie's path widened
    question = reverse("screening:campaign_invitation_question", args=[other.token, "PHQ-9"])
    response = client.post(question, {"answer": "0"})
    assert response.url == reverse("screening:campaign_invitation", args=[other.token])
    assert AssessmentDraft.objects.get().answers == {}


def test_an_expired_campaign_link_says_so(client, invitation):
    with time_machine.travel(dt.datetime(2027, 1, 5, 12, 0), tick=False):
        response = client.get(reverse("screening:campaign_invitation", args=[invitation.token]))
        assert "现在不在活动时间内" in response.content.decode()
        question = reverse(
            "screening:campaign_invitation_question", args=[invitation.token, "PHQ-9"]
        )
        assert "现在不在活动时间内" in client.post(question, {"answer": "0"}).content.decode()
    assert not Assessment.objects.exists()


def test_an_unknown_link_404s_with_a_chinese_message(client, db):
    response = client.get(reverse("screening:campaign_invitation", args=["no-such-token"]))
    assert response.status_code == 404
    assert "邀请链接无效" in response.content.decode()


# ---------------------------------------------------------------- counts


def test_it_counts_invited_completed_positive_and_responders(areas, district_admin):
    campaign = make_campaign(areas["district"], district_admin)
    people(areas["grid_a"], 8)
    people(areas["grid_b"], 6)
    campaigns.issue_invitations(campaign, actor=district_admin)
    invited_a = list(CampaignInvitation.objects.filter(area_code__startswith="310105001"))
    for n, inv in enumerate(invited_a[:6]):
        answer_by_service(inv, POSITIVE if n < 3 else NEGATIVE)
    # Two anonymous answers through the shared link: placed at the campaign's area.
    for answers in (POSITIVE, NEGATIVE):
        services.submit_assessment(
            instrument_code="PHQ-9", answers=answers, mode="self", actor=None, campaign=campaign
        )
    rows, total = campaign_report.campaign_rows(campaign, areas["district"])
    by_area = {r.area.name if r.area else None: r for r in rows}
    a, b, elsewhere = by_area["华阳路街道"], by_area["新泾镇"], by_area[None]
    assert (a.invited, a.completed, a.positive, a.responded) == (8, 6, 3, 6)
    assert (b.invited, b.completed, b.positive, b.responded) == (6, 0, 0, 0)
    assert (elsewhere.invited, elsewhere.completed, elsewhere.positive) == (0, 2, 1)
    assert (total.invited, total.completed, total.positive, total.responded) == (14, 8, 4, 6)


def test_a_person_answering_by_link_and_shared_link_counts_once(areas, district_admin, person_a):
    campaign = make_campaign(areas["district"], district_admin)
    campaigns.issue_invitations(campaign, actor=district_admin)
    answer_by_service(CampaignInvitation.objects.get(), NEGATIVE)
    services.submit_assessment(
        instrument_code="PHQ-9",
        answers=NEGATIVE,
        mode="self",
        actor=None,
        person=person_a,
        campaign=campaign,
    )
    _rows, total = campaign_report.campaign_rows(campaign, areas["district"])
    assert (total.invited, total.completed, total.responded) == (1, 1, 1)


def test_the_page_shows_the_response_rate_and_hides_small_cells_with_complements(
    client, areas, district_admin
):
    campaign = make_campaign(areas["district"], district_admin)
    people(areas["grid_a"], 10)
    people(areas["grid_b"], 8)
    campaigns.issue_invitations(campaign, actor=district_admin)
    for n, inv in enumerate(CampaignInvitation.objects.filter(area_code__startswith="310105001")):
        if n < 6:
            answer_by_service(inv, POSITIVE if n < 5 else NEGATIVE)
    for inv in CampaignInvitation.objects.filter(area_code__startswith="310105102")[:2]:
        answer_by_service(inv, NEGATIVE)
    client.force_login(district_admin)
    page = client.get(reverse("screening:campaign", args=[campaign.pk])).content.decode()
    row_a = page[page.index("华阳路街道") :].split("</tr>")[0]
    row_b = page[page.index("新泾镇") :].split("</tr>")[0]
    foot = page[page.index("<tfoot>") :].split("</tfoot>")[0]
    # Completed 6 and 2 under 8: the 2 is small, the 6 hidden with it; responders likewise, so
    # neither row's rate is shown. Positive 5 would bound the hidden 6 (5 ≤ completed ≤ 7), so
    # it is hidden too, and then the positive total, which nothing else could hide with it.
    assert "<td>10</td><td>*</td><td>*</td><td>—</td>" in row_a
    assert "<td>8</td><td>&lt;5</td><td>0</td><td>—</td>" in row_b
    assert "<th>18</th><th>8</th><th>*</th><th>44%</th>" in foot


def test_a_cell_hidden_above_stays_hidden_when_drilled_into(client, areas, district_admin):
    campaign = make_campaign(areas["district"], district_admin)
    people(areas["grid_a"], 7)
    people(areas["grid_a2"], 6)
    people(areas["grid_b"], 3)
    campaigns.issue_invitations(campaign, actor=district_admin)
    client.force_login(district_admin)
    url = reverse("screening:campaign", args=[campaign.pk])
    page = client.get(url).content.decode()
    row_a = page[page.index("华阳路街道") :].split("</tr>")[0]
    assert "<td>*</td>" in row_a  # 13, hidden with 新泾镇's 3 under the shown 16
    for code in (areas["town_a"].code, areas["village_a"].code):
        page = client.get(url + f"?area={code}").content.decode()
        foot = page[page.index("<tfoot>") :].split("</tfoot>")[0]
        assert "<th>*</th>" in foot and "<th>13</th>" not in foot
    # In the village, one of the grids is hidden too: 13 − 7 cannot be done.
    assert "<td>*</td>" in page


def test_counts_leave_invitations_of_other_campaigns_alone(areas, district_admin):
    first = make_campaign(areas["district"], district_admin)
    second = make_campaign(areas["district"], district_admin, name="第二次")
    people(areas["grid_a"], 6)
    campaigns.issue_invitations(first, actor=district_admin)
    _rows, total = campaign_report.campaign_rows(second, areas["district"])
    assert total.invited == 0
    assert timezone.localdate() == TODAY


def test_the_campaign_page_takes_a_fixed_number_of_queries(
    client, areas, district_admin, django_assert_max_num_queries
):
    campaign = make_campaign(areas["district"], district_admin)
    url = reverse("screening:campaign", args=[campaign.pk]) + f"?area={areas['village_a'].code}"
    client.force_login(district_admin)
    people(areas["grid_a"], 3)
    campaigns.issue_invitations(campaign, actor=district_admin)
    with django_assert_max_num_queries(30) as few:
        client.get(url)
    people(areas["grid_a2"], 40)
    people(areas["grid_b"], 40)
    campaigns.issue_invitations(campaign, actor=district_admin)
    for inv in CampaignInvitation.objects.all()[:20]:
        answer_by_service(inv, NEGATIVE)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)
