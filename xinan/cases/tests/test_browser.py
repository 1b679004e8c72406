"""One resident through the whole loop in a real browser: positive screen, first contact,
identification, counselling sessions, referral up, acceptance, outcome, referral down,
follow-ups with the chart, closure."""

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.utils import timezone

from xinan.accounts.models import Membership
from xinan.cases.models import Case, FollowUp, Referral, Task
from xinan.core import worker
from xinan.core.models import InstitutionKind
from xinan.testing import factories

pytestmark = pytest.mark.browser


@pytest.fixture
def rules(live_url):
    """Transactional tests flush what data migrations seeded: put the task rules back."""
    importlib.import_module("xinan.cases.migrations.0002_default_task_rules").add_rules(apps, None)


def deliver() -> None:
    """What the worker does in production: every pending delivery, to every consumer."""
    worker.run_once("browser-test")


def paper_entry(page, person, answers: str) -> None:
    page.goto("/screening/paper/")
    page.fill("input[name=id_number]", person.id_number)
    page.select_option("select[name=instrument]", "PHQ-9")
    page.fill("input[name=answers]", answers)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    deliver()


def open_action(page, summary: str):
    page.locator("details summary", has_text=summary).click()
    return page.locator("details[open] form")


def test_a_resident_goes_through_the_whole_loop(
    page, new_page, login_as, screenshot, rules, areas, counsellor, psychiatrist, person_a
):
    chc = factories.institution(areas["town_a"], "华阳路街道社区卫生服务中心")
    mhc = factories.institution(
        areas["district"], "长宁区精神卫生中心", InstitutionKind.MENTAL_HEALTH_CENTRE
    )
    Membership.objects.create(user=psychiatrist, role="psychiatrist", institution=mhc)
    doctor = factories.staff("doctor", institution=chc, username="doc_chc")

    # 1. A positive screen (paper PHQ-9, 14 points) opens a case with a first-contact task.
    login_as(page, counsellor)
    paper_entry(page, person_a, "2,2,2,2,2,2,1,1,0")
    case = Case.objects.get(person=person_a)
    page.goto("/workbench/")
    worklist = page.get_by_test_id("my-worklist")
    assert "筛查阳性：3天内首次联系" in worklist.inner_text()
    assert "张三" in worklist.inner_text()
    screenshot(page, "1-workbench")

    # 2. First contact, from the worklist.
    row = worklist.locator("tr", has_text="筛查阳性：3天内首次联系")
    row.locator("input[name=result]").fill("已电话联系，约定面谈")
    row.get_by_role("button", name="完成").click()
    page.wait_for_load_state()
    assert "已完成：筛查阳性：3天内首次联系" in page.inner_text(".messages")

    # 3. An impossible step is refused in Chinese, then identification with its basis.
    page.goto(f"/cases/{case.pk}/")
    form = open_action(page, "推进阶段")
    form.locator("select[name=to]").select_option("identify")
    form.get_by_role("button", name="保存").click()
    assert "请填写鉴别意见及依据" in page.inner_text("main")
    form = page.locator("details[open] form")
    form.locator("select[name=to]").select_option("identify")
    form.locator("textarea[name=judgement]").fill("中度抑郁发作可能，无自伤计划")
    form.locator("textarea[name=basis]").fill("PHQ-9 14分，面谈评估")
    form.get_by_role("button", name="保存").click()
    assert page.get_by_test_id("stage").inner_text() == "鉴别"

    # 4. Two counselling sessions.
    for day in (2, 1):
        form = open_action(page, "记录干预")
        form.locator("select[name=kind]").select_option("individual")
        started = timezone.localtime() - dt.timedelta(days=day)
        form.locator("input[name=started_at]").fill(started.strftime("%Y-%m-%dT%H:%M"))
        form.locator("input[name=minutes]").fill("50")
        form.locator("select[name=site]").select_option(str(chc.pk))
        form.locator("textarea[name=notes]").fill("认知行为治疗第%s次" % (3 - day))
        form.get_by_role("button", name="保存干预记录").click()
        assert "干预记录已保存" in page.inner_text(".messages")
    assert page.get_by_test_id("stage").inner_text() == "干预"

    # 5. Referral up: refused without consent, sent once consent is recorded.
    form = open_action(page, "转介")
    form.locator("select[name=direction]").select_option("up")
    form.locator("select[name=to_institution]").select_option(str(mhc.pk))
    form.locator("select[name=urgency]").select_option("routine")
    form.locator("textarea[name=reason]").fill("咨询后症状无改善，需精神科诊断")
    form.get_by_role("button", name="发出转介").click()
    assert "该居民未同意向其他机构共享信息" in page.inner_text("main")
    assert not Referral.objects.exists()
    page.goto(f"/people/{person_a.pk}/")
    page.select_option("select[name=kind]", "data_sharing")
    page.check("input[name=granted]")
    page.get_by_role("button", name="记录").click()
    page.goto(f"/cases/{case.pk}/")
    form = open_action(page, "转介")
    form.locator("select[name=direction]").select_option("up")
    form.locator("select[name=to_institution]").select_option(str(mhc.pk))
    form.locator("select[name=urgency]").select_option("routine")
    form.locator("textarea[name=reason]").fill("咨询后症状无改善，需精神科诊断")
    form.get_by_role("button", name="发出转介").click()
    assert "转介已发出，等待长宁区精神卫生中心答复" in page.inner_text(".messages")
    up = Referral.objects.get()

    # 6. The mental health centre accepts and returns its outcome, then refers back down.
    psy = new_page()
    login_as(psy, psychiatrist)
    psy.goto("/cases/referrals/?box=in")
    psy.get_by_role("link", name="张三").click()
    psy.get_by_role("button", name="接收").click()
    assert psy.get_by_test_id("referral-status").inner_text() == "已接收"
    psy.fill("textarea[name=diagnosis_summary]", "抑郁发作（中度）")
    psy.fill("textarea[name=treatment_plan]", "舍曲林50mg每日一次，联合心理咨询")
    psy.fill("textarea[name=recommended_follow_up]", "社区2周、1个月、3个月复评")
    psy.get_by_role("button", name="反馈给转出方").click()
    assert psy.get_by_test_id("referral-status").inner_text() == "已反馈结果"
    screenshot(psy, "6-outcome")
    psy.goto(f"/cases/{case.pk}/")
    form = open_action(psy, "转介")
    form.locator("select[name=direction]").select_option("down")
    form.locator("select[name=to_institution]").select_option(str(chc.pk))
    form.locator("select[name=urgency]").select_option("routine")
    form.locator("textarea[name=reason]").fill("病情稳定，下转社区随访")
    form.get_by_role("button", name="发出转介").click()
    down = Referral.objects.get(direction="down")

    # The sender sees every step.
    page.goto(f"/cases/referrals/{up.pk}/")
    assert "已反馈结果" in page.inner_text("main") and "抑郁发作（中度）" in page.inner_text("main")

    # 7. The community health centre accepts the 下转: follow-ups at 2 weeks, 1 and 3 months.
    doc = new_page()
    login_as(doc, doctor)
    doc.goto(f"/cases/referrals/{down.pk}/")
    doc.get_by_role("button", name="接收").click()
    assert "已接收转介" in doc.inner_text(".messages")
    doc.goto(f"/people/{person_a.pk}/")  # the grant opens the record to the centre's staff
    assert "个案与时间线" in doc.inner_text("main")
    assert FollowUp.objects.filter(case=case).count() == 3
    assert Task.objects.filter(case=case, kind="follow_up", status="open").count() == 3

    # 8. Two repeat assessments, weeks later (due times moved back to stand for the wait).
    for answers in ("1,1,1,1,1,1,0,0,0", "1,1,0,0,1,0,0,0,0"):
        first = FollowUp.objects.filter(case=case, status="scheduled").order_by("due_at").first()
        FollowUp.objects.filter(pk=first.pk).update(due_at=timezone.now())
        paper_entry(page, person_a, answers)
    assert FollowUp.objects.filter(case=case, status="done").count() == 2
    page.goto(f"/cases/{case.pk}/")
    assert page.get_by_test_id("stage").inner_text() == "追踪"
    page.get_by_test_id("score-chart").locator("canvas").wait_for()
    text = page.inner_text("main")
    assert "有效应答（下降≥50%）" in text and "已缓解" in text
    screenshot(page, "8-follow-up-chart")

    # 9. Closure with a reason and an outcome; the timeline shows the whole path.
    form = open_action(page, "推进阶段")
    form.locator("select[name=to]").select_option("closed")
    form.locator("select[name=reason]").select_option("recovered")
    form.locator("select[name=outcome]").select_option("remission")
    form.get_by_role("button", name="保存").click()
    assert page.get_by_test_id("stage").inner_text() == "已结案"
    page.goto(f"/people/{person_a.pk}/")
    timeline = page.get_by_test_id("person-loop").inner_text()
    for seen in ("建档", "转入“鉴别”", "个体心理咨询", "上转", "下转", "转入“已结案”"):
        assert seen in timeline, seen
    screenshot(page, "9-timeline")


def test_a_resident_answers_a_follow_up_from_the_personal_link_on_a_phone(
    mobile_page, screenshot, counsellor, person_a
):
    from xinan.cases import services
    from xinan.cases.models import CaseSource

    case, _ = services.open_case(person_a, actor=counsellor, source=CaseSource.MANUAL)
    follow_up = services.schedule_follow_up(
        case, actor=counsellor, instrument="phq9", due_at=timezone.now(), mode="link"
    )
    page = mobile_page
    page.goto(f"/cases/f/{follow_up.token}/")
    assert "张*" in page.inner_text("main")
    page.get_by_role("button", name="提交").click()
    assert "还有 9 题未作答" in page.inner_text("main")
    for n in range(1, 10):
        page.locator(f"input[name=q{n}][value='1']").check()
    page.locator("input[name=agree]").check()
    screenshot(page, "answered")
    page.get_by_role("button", name="提交").click()
    assert "已提交，谢谢您！" in page.inner_text("main")
    follow_up.refresh_from_db()
    assert follow_up.status == "done"


NO_SIDEWAYS = """() => {
    const page = document.scrollingElement;
    const tables = [...document.querySelectorAll("main table")];
    return {
        page: page.scrollWidth - window.innerWidth,
        tables: tables.map((t) => t.scrollWidth - t.clientWidth),
    };
}"""


def test_the_worklist_reads_on_a_phone_without_scrolling_sideways(
    new_page, login_as, screenshot, counsellor, person_a
):
    now = timezone.now()
    rows = [
        ("first_contact", "筛查阳性：3天内首次联系（PHQ-9 15分，第9题阳性，请尽快电话联系）", -2),
        ("follow_up", "随访复评（PHQ-9）", 3),
        ("crisis_callback", "居民请求回电 138****1234", 1),
    ]
    for kind, title, hours in rows:
        Task.objects.create(
            kind=kind,
            title=title,
            person=None if kind == "crisis_callback" else person_a,
            due_at=now + dt.timedelta(hours=hours),
            area_code=person_a.home_area_id,
            assignee=counsellor,
            link="/crisis/hotline/" if kind == "crisis_callback" else "",
        )
    page = new_page(
        viewport={"width": 375, "height": 812},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    login_as(page, counsellor)
    for url, name in (("/cases/", "worklist"), ("/workbench/", "workbench")):
        page.goto(url)
        assert "筛查阳性：3天内首次联系" in page.inner_text("main")
        overflow = page.evaluate(NO_SIDEWAYS)
        assert overflow["page"] <= 0 and all(t <= 0 for t in overflow["tables"]), overflow
        done = page.get_by_role("button", name="完成").first.bounding_box()
        assert done["x"] + done["width"] <= 375  # 完成 is on the screen, not past its edge
        screenshot(page, name)
