"""The loop's pages, as each persona sees them."""

import datetime as dt

import pytest
from django.utils import timezone

from xinan.cases import consumers, services
from xinan.cases.models import Case, Referral, Task
from xinan.cases.tests.conftest import event, scored
from xinan.core.models import AuditEntry
from xinan.people.models import Consent
from xinan.testing import factories


def page(client, user, url):
    client.force_login(user)
    response = client.get(url)
    return response, response.content.decode()


@pytest.fixture
def screened(person_a, counsellor):
    consumers.open_from_positive_screen(event("assessment.scored", scored(person_a)))
    return Case.objects.get(person=person_a)


def test_it_leads_the_workbench_with_my_tasks_and_new_arrivals(client, counsellor, screened):
    _r, html = page(client, counsellor, "/workbench/")
    assert "我的待办" in html and "筛查阳性：3天内首次联系" in html
    assert html.index("我的待办") < html.index("我的职责范围")
    assert f"/cases/{screened.pk}/" in html and "新到" in html


def test_it_marks_overdue_tasks_first(client, counsellor, screened):
    services.add_task(
        screened,
        actor=counsellor,
        kind="other",
        title="逾期的回访",
        due_at=timezone.now() - dt.timedelta(hours=2),
    )
    _r, html = page(client, counsellor, "/cases/")
    assert html.index("逾期的回访") < html.index("筛查阳性：3天内首次联系")
    assert "已逾期" in html
    _r, html = page(client, counsellor, "/cases/?when=overdue")
    assert "逾期的回访" in html and "筛查阳性：3天内首次联系" not in html


def test_it_sorts_the_worklist_by_a_whitelisted_column_only(client, counsellor, screened):
    assert page(client, counsellor, "/cases/?sort=-due")[0].status_code == 200
    assert page(client, counsellor, "/cases/?sort=person__password")[0].status_code == 200


def test_it_completes_a_task_from_the_worklist(client, counsellor, screened):
    task = Task.objects.get()
    client.force_login(counsellor)
    r = client.post(f"/cases/tasks/{task.pk}/done/", {"result": "已电话联系"})
    assert r.status_code == 302
    task.refresh_from_db()
    assert task.status == "done"
    screened.refresh_from_db()
    assert screened.first_contact_at is not None


def test_it_404s_outside_scope(client, other_grid_worker, screened):
    client.force_login(other_grid_worker)
    for url in [
        f"/cases/{screened.pk}/",
        f"/cases/open/{screened.person_id}/",
    ]:
        assert client.get(url).status_code == 404, url
    for url in [
        f"/cases/{screened.pk}/move/",
        f"/cases/{screened.pk}/reveal/",
        f"/cases/{screened.pk}/intervention/",
        f"/cases/{screened.pk}/refer/",
        f"/cases/tasks/{Task.objects.get().pk}/done/",
    ]:
        assert client.post(url, {"to": "identify"}).status_code == 404, url
    assert "张三" not in client.get("/cases/list/").content.decode()


def test_it_404s_for_residents_and_sysadmins(client, resident_user, sysadmin, screened):
    for user in (resident_user, sysadmin):
        client.force_login(user)
        assert client.get("/cases/").status_code == 404
        assert client.get(f"/cases/{screened.pk}/").status_code == 404


def test_it_audits_opening_a_case_and_revealing_a_phone(client, counsellor, screened):
    page(client, counsellor, f"/cases/{screened.pk}/")
    assert AuditEntry.objects.filter(action="cases.case.view", actor=counsellor).exists()
    r = client.post(f"/cases/{screened.pk}/reveal/")
    assert "13912345678" in r.content.decode()
    assert AuditEntry.objects.filter(action="cases.person.reveal", actor=counsellor).exists()


def test_it_shows_masked_phones_in_lists(client, counsellor, screened):
    _r, html = page(client, counsellor, "/cases/list/")
    assert "139****5678" in html and "13912345678" not in html


def test_it_refuses_an_impossible_move_with_a_chinese_message(client, counsellor, screened):
    client.force_login(counsellor)
    r = client.post(f"/cases/{screened.pk}/move/", {"to": "intervene"})
    html = r.content.decode()
    assert r.status_code == 400 and "个案处于“评估”阶段，不能直接转为“干预”" in html
    screened.refresh_from_db()
    assert screened.stage == "assess"


def test_it_identifies_from_the_page(client, counsellor, screened):
    client.force_login(counsellor)
    r = client.post(
        f"/cases/{screened.pk}/move/", {"to": "identify", "judgement": "中度抑郁", "basis": "PHQ-9"}
    )
    assert r.status_code == 302
    screened.refresh_from_db()
    assert screened.stage == "identify" and screened.judgement == "中度抑郁"


def test_it_shows_session_notes_only_at_full_case_notes_detail(
    client, counsellor, grid_worker, psychiatrist, screened
):
    services.move_case(screened, to="identify", actor=counsellor, judgement="a", basis="b")
    services.record_intervention(
        screened,
        actor=counsellor,
        kind="individual",
        started_at=timezone.now(),
        minutes=50,
        online=True,
        notes="谈及童年创伤",
    )
    assert "谈及童年创伤" in page(client, counsellor, f"/cases/{screened.pk}/")[1]
    assert "谈及童年创伤" in page(client, psychiatrist, f"/cases/{screened.pk}/")[1]
    html = page(client, grid_worker, f"/cases/{screened.pk}/")[1]
    assert "谈及童年创伤" not in html and "不显示干预记录内容" in html


def test_it_refuses_a_referral_without_consent_on_the_page(client, counsellor, screened, mhc):
    services.move_case(screened, to="identify", actor=counsellor, judgement="a", basis="b")
    client.force_login(counsellor)
    r = client.post(
        f"/cases/{screened.pk}/refer/",
        {"direction": "up", "to_institution": mhc.pk, "urgency": "routine", "reason": "需诊断"},
    )
    assert r.status_code == 400 and "未同意向其他机构共享信息" in r.content.decode()
    assert not Referral.objects.exists()


@pytest.fixture
def referred(counsellor, screened, mhc):
    Consent.objects.create(person=screened.person, kind="data_sharing", granted=True)
    services.move_case(screened, to="identify", actor=counsellor, judgement="a", basis="b")
    return services.create_referral(
        screened,
        actor=counsellor,
        to_institution=mhc,
        direction="up",
        urgency="urgent",
        reason="需诊断",
    )


def test_it_shows_the_inbox_and_accepts(client, counsellor, referred, mhc_psychiatrist):
    r = referred
    _resp, html = page(client, mhc_psychiatrist, "/cases/referrals/?box=in")
    assert "张三" in html and "待接收" in html
    resp = client.post(f"/cases/referrals/{r.pk}/accept/")
    assert resp.status_code == 302
    resp = client.post(f"/cases/referrals/{r.pk}/accept/", follow=True)
    assert "不能重复接收" in resp.content.decode()
    _resp, html = page(client, counsellor, f"/cases/referrals/{r.pk}/")
    assert "已接收" in html


def test_it_404s_a_referral_outside_scope(client, other_grid_worker, referred):
    r = referred
    client.force_login(other_grid_worker)
    assert client.get(f"/cases/referrals/{r.pk}/").status_code == 404
    assert client.post(f"/cases/referrals/{r.pk}/accept/").status_code == 404


def test_it_shows_the_timeline_on_the_person_page(client, counsellor, screened):
    _r, html = page(client, counsellor, f"/people/{screened.person_id}/")
    assert "个案与时间线" in html and "建档" in html


def test_it_shows_loop_figures_to_area_admins_only(client, town_admin, counsellor, screened):
    _r, html = page(client, town_admin, "/cases/figures/")
    assert "闭环指标" in html and "筛查阳性建档" in html
    assert page(client, counsellor, "/cases/figures/")[0].status_code == 404
    r = client.get("/cases/figures/?area=310105102000")  # the other town
    assert r.status_code == 404


def test_it_exports_figures_with_formula_safe_cells(client, town_admin, screened):
    client.force_login(town_admin)
    r = client.get("/cases/figures/export.csv")
    body = b"".join(r.streaming_content).decode()
    assert "筛查阳性建档数" in body and "华阳路街道" in body


def test_it_makes_cells_formula_safe():
    from xinan.cases.services.figures import formula_safe

    assert formula_safe("=HYPERLINK()") == "'=HYPERLINK()"
    assert formula_safe("-1") == "'-1" and formula_safe(12.5) == "12.5"


def test_the_timeline_shows_a_call_s_topic_only_at_the_crisis_details_level(
    grid_worker, counsellor, person_a, areas
):
    from xinan.cases import timeline
    from xinan.crisis.models import HotlineCall

    worker = factories.staff("crisis_worker", area=areas["town_a"], username="desk")
    HotlineCall.objects.create(
        person=person_a,
        area_code=person_a.home_area_id,
        topic="suicide",
        risk="high",
        counsellor=worker,
    )

    def call_text(user):
        return next(i.text for i in timeline.for_person(user, person_a) if i.kind == "call")

    assert "自杀" not in call_text(grid_worker) and "高" in call_text(grid_worker)
    assert "自杀" in call_text(counsellor)


def _tasks(person, n, *, start, **to):
    return [
        Task.objects.create(
            person=person,
            kind="other",
            title=f"待办{start + i}",
            due_at=timezone.now() + dt.timedelta(hours=start + i),
            area_code=person.home_area_id,
            **to,
        )
        for i in range(n)
    ]


def test_it_merges_the_worklist_branches_in_due_order(counsellor, person_a, person_b):
    from django.db.models import Q

    mine = _tasks(person_a, 3, start=0, assignee=counsellor)
    role = _tasks(
        person_a, 3, start=1, assignee_role="counsellor", assignee_area_code="310105001001001"
    )
    _tasks(person_b, 3, start=0, assignee_role="counsellor", assignee_area_code="310105102001001")
    expected = list(services.worklist(counsellor).values_list("pk", flat=True))
    assert len(expected) == 6  # the other town's tasks are not on the list
    assert services.worklist_ids(counsellor, Q(), ("due_at", "pk"), 0, 6) == expected
    assert services.worklist_ids(counsellor, Q(), ("due_at", "pk"), 2, 4) == expected[2:4]
    assert services.worklist_ids(counsellor, Q(), ("-due_at", "-pk"), 0, 2) == expected[::-1][:2]
    assert set(expected) == {t.pk for t in mine + role}


def test_it_pages_a_long_worklist_without_counting_it(client, counsellor, person_a):
    _tasks(person_a, 26, start=0, assignee=counsellor)
    _r, html = page(client, counsellor, "/cases/")
    assert "待办0<" in html and "待办24<" in html and "待办25<" not in html
    assert "第 1 页" in html and "page=2" in html
    _r, html = page(client, counsellor, "/cases/?page=2")
    assert "待办25<" in html and "待办24<" not in html and "page=1" in html


def test_a_worklist_row_escapes_what_staff_typed_and_posts_done_back_here(
    client, counsellor, screened
):
    """Rows are written in Python (tables.render_task_rows): a title or name with markup is
    shown as text, and "done" posts with the CSRF token and returns to the filtered list."""
    services.add_task(
        screened,
        actor=counsellor,
        kind="other",
        title='<script>alert("x")</script>',
        due_at=timezone.now() + dt.timedelta(days=3),
    )
    screened.person.name = "<b>王</b>"
    screened.person.save()
    _r, html = page(client, counsellor, "/cases/?when=upcoming")
    assert "<script>alert" not in html and "&lt;script&gt;alert(&quot;x&quot;)" in html
    assert "&lt;b&gt;王&lt;/b&gt;" in html and "<b>王</b>" not in html
    task = Task.objects.get(title__startswith="<script>")
    form = html[html.index(f'action="/cases/tasks/{task.pk}/done/"') :].split("</form>")[0]
    assert 'name="csrfmiddlewaretoken" value="' in form
    assert 'name="next" value="/cases/?when=upcoming"' in form
    assert f'href="/cases/{screened.pk}/"' in html  # the name leads to the case
