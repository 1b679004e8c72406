"""Crisis pages as people use them: sane ranges with Chinese messages (no 500), the hotline
finds the caller through the gate, area pickers by path, Chinese empty choices, the person's
page, the audit log's words, crisis first on screening pages, and the demo's roster."""

import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from xinan.core.models import AuditEntry
from xinan.crisis import demo, routing, runner, services
from xinan.crisis.models import Alert, DutyShift, HotlineCall
from xinan.crisis.tests.conftest import emit, item9
from xinan.screening import services as screening

FMT = "%Y-%m-%dT%H:%M"


def _call(**overrides):
    data = {
        "received_at": timezone.localtime().strftime(FMT),
        "wait_seconds": 10,
        "duration_seconds": 300,
        "topic": "emotion",
        "risk": "low",
        "notes": "想找人说说话",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("wait_seconds", "99999999999999999999", "秒数不能超过一天"),
        ("duration_seconds", "9223372036854775808", "秒数不能超过一天"),
        ("duration_seconds", "-1", "秒数不能为负数"),
        ("received_at", "2099-01-01T00:00", "来电时间须在过去一年以内"),
        ("received_at", "0001-01-01T00:00", "来电时间须在过去一年以内"),
        ("received_at", "9999-12-31T23:59", "来电时间须在过去一年以内"),
    ],
)
def test_the_hotline_refuses_numbers_and_dates_out_of_range_in_chinese(
    client, crisis_a, field, value, message
):
    client.force_login(crisis_a)
    response = client.post(reverse("crisis:hotline"), _call(**{field: value}))
    assert response.status_code == 400
    assert message in response.text and "想找人说说话" in response.text  # the typed form stays
    assert not HotlineCall.objects.exists()


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("0001-01-01T00:00", "0001-01-01T08:00", "开始时间须在昨天至一年以内"),
        ("9999-12-31T15:00", "9999-12-31T23:59", "开始时间须在昨天至一年以内"),
        (None, "9999-12-31T23:59", "一个班次最长31天"),
    ],
)
def test_the_roster_refuses_dates_out_of_range_in_chinese(client, crisis_a, start, end, message):
    client.force_login(crisis_a)
    start = start or timezone.localtime().strftime(FMT)
    response = client.post(
        reverse("crisis:roster"),
        {"user": crisis_a.pk, "area": "华阳路街道", "starts_at": start, "ends_at": end},
    )
    assert response.status_code == 400 and message in response.text
    assert DutyShift.objects.filter(user=crisis_a).count() == 1  # only the fixture's


def test_the_hotline_finds_the_caller_by_name_phone_or_id_through_the_gate(
    client, crisis_a, person_a, person_b
):
    client.force_login(crisis_a)
    for query in ("张三", "139 1234 5678", person_a.id_number):
        client.post(reverse("crisis:hotline"), _call(person_query=query))
        assert HotlineCall.objects.latest("id").person == person_a, query
    # Someone outside the desk's areas is not found, and the typed form stays.
    response = client.post(reverse("crisis:hotline"), _call(person_query="李四"))
    assert response.status_code == 400
    assert "在您的职责范围内没有找到“李四”" in response.text and "想找人说说话" in response.text
    response = client.post(reverse("crisis:hotline"), _call(person_query="王五"))
    assert "没有找到“王五”" in response.text
    assert HotlineCall.objects.count() == 3


def test_the_hotline_offers_a_choice_when_a_name_matches_several(client, crisis_a, areas):
    from xinan.testing import factories

    one = factories.PersonFactory(name="王芳", home_area=areas["grid_a"], phone="13700000001")
    factories.PersonFactory(name="王芳", home_area=areas["grid_a2"], phone="13700000002")
    client.force_login(crisis_a)
    response = client.post(reverse("crisis:hotline"), _call(person_query="王芳"))
    assert "找到 2 位居民" in response.text and "137****0001" in response.text
    assert not HotlineCall.objects.exists()
    client.post(reverse("crisis:hotline"), _call(person_query="王芳", person_pick=one.pk))
    assert HotlineCall.objects.get().person == one
    response = client.post(reverse("crisis:hotline"), _call(person_query="王芳", person_pick=999))
    assert response.status_code == 400 and "没有找到该居民" in response.text


def test_a_hotline_call_received_in_2099_is_refused_by_the_form(client, crisis_a):
    client.force_login(crisis_a)
    client.post(reverse("crisis:hotline"), _call(received_at="2099-06-01T10:00"))
    assert not HotlineCall.objects.exists()


def test_area_pickers_show_the_path_and_find_by_name(client, crisis_district, areas):
    from xinan.testing import factories

    factories.area("310105102002", "安顺居委会", "village", areas["town_b"])  # same name
    client.force_login(crisis_district)
    page = client.get(reverse("crisis:roster")).text
    assert '<option value="华阳路街道 / 安顺居委会">' in page
    assert '<option value="新泾镇 / 安顺居委会">' in page
    data = {
        "user": crisis_district.pk,
        "starts_at": (timezone.localtime() + dt.timedelta(days=2)).strftime(FMT),
        "ends_at": (timezone.localtime() + dt.timedelta(days=2, hours=4)).strftime(FMT),
    }
    ambiguous = client.post(reverse("crisis:roster"), {**data, "area": "安顺居委会"})
    assert "有 2 个同名区域" in ambiguous.text
    client.post(reverse("crisis:roster"), {**data, "area": "新泾镇 / 安顺居委会"})
    assert DutyShift.objects.filter(area__code="310105102002").exists()


def test_every_crisis_form_s_empty_choice_is_chinese(client, alert_detail_page, crisis_a):
    client.force_login(crisis_a)
    for url in (reverse("crisis:hotline"), reverse("crisis:roster"), alert_detail_page):
        text = client.get(url).text
        assert "Select an option" not in text and "---------" not in text, url
        assert "请选择" in text, url


def test_a_model_form_s_empty_choice_is_chinese():
    from django import forms

    from xinan.accounts.models import Membership

    class MembershipForm(forms.ModelForm):
        class Meta:
            model = Membership
            fields = ["role"]

    html = str(MembershipForm()["role"])
    assert "- 请选择 -" in html and "Select an option" not in html


@pytest.fixture
def alert_detail_page(person_a, crisis_a):
    emit(person_id=person_a.pk, critical=item9(3))
    runner.run_once("test")
    alert = Alert.objects.get()
    services.acknowledge_alert(alert, actor=crisis_a)
    return reverse("crisis:alert", args=[alert.pk])


def test_the_person_page_shows_alerts_and_calls_within_the_viewer_s_detail_level(
    client, person_a, crisis_a, counsellor, grid_worker
):
    emit(person_id=person_a.pk, critical=item9(3))
    runner.run_once("test")
    services.record_call(
        actor=crisis_a, topic="suicide", risk="high", received_at=timezone.now(), person=person_a
    )
    url = reverse("people:detail", args=[person_a.pk])

    def section(text):
        return text.split('data-testid="person-crisis"')[1].split("</section>")[0]

    client.force_login(counsellor)
    section_text = section(client.get(url).text)
    assert "红色" in section_text and "第9题" in section_text and "自杀自伤" in section_text
    client.force_login(grid_worker)
    section_text = section(client.get(url).text)
    assert "红色" in section_text and "热线来电" in section_text
    assert "第9题" not in section_text and "自杀自伤" not in section_text


def test_the_audit_log_shows_chinese_labels_and_the_export_keeps_codes(
    client, alert_a_reveal, district_admin
):
    client.force_login(district_admin)
    page = client.get(reverse("audit_log")).text
    assert "查看当事人完整号码" in page and f"居民 #{alert_a_reveal.person_id}" in page
    assert "查看危机预警" not in page or "危机预警 #" in page
    assert ">安顺居委会第1网格</td>" in page
    assert "people.person #" not in page
    assert ">crisis.alert.reveal_phone<" not in page
    export = b"".join(client.get(reverse("audit_export")).streaming_content).decode()
    assert "crisis.alert.reveal_phone" in export


@pytest.fixture
def alert_a_reveal(client, person_a, crisis_a):
    emit(person_id=person_a.pk, critical=item9(3))
    runner.run_once("test")
    alert = Alert.objects.get()
    from xinan.crisis import reach

    reach.reveal_contacts(alert, actor=crisis_a)
    return alert


def test_a_critical_answer_comes_first_on_every_page_whatever_the_band(
    client, person_a, counsellor, resident_user
):
    person_a.user = resident_user
    person_a.save()
    a = screening.submit_assessment(
        instrument_code="PHQ-9",
        answers=[1, 1, 1, 1, 1, 0, 0, 0, 3],
        mode="self",
        actor=resident_user,
        person=person_a,
    )
    assert a.critical and a.total == 8 and a.band == "mild"
    client.force_login(resident_user)
    result = client.get(reverse("screening:result", args=[a.pk]) + "?show=result").text
    assert 'data-testid="crisis-advice"' in result and "危机提示" in result
    assert "两周后再做一次自测" not in result
    history = client.get(reverse("screening:mine")).text
    assert "危机提示" in history
    client.force_login(counsellor)
    detail = client.get(reverse("screening:assessment", args=[a.pk])).text
    assert "危机提示" in detail and "第 9 题（红色）" in detail and "（red）" not in detail


def test_the_demo_covers_the_district_7x24_with_two_workers_and_assigns_every_alert(db):
    from xinan.people import demo as people_demo

    people_demo.build(seed=3, residents=30)
    out = io.StringIO()
    demo.build_demo(seed=3, stdout=out)
    demo.build_demo(seed=3, stdout=out)  # idempotent
    assert Alert.objects.filter(trigger_key="demo-phq9-item9").count() == 1
    assert HotlineCall.objects.count() == 2
    from xinan.core.models import Area

    district = Area.objects.get(code=demo.DISTRICT)
    start = timezone.localtime().replace(minute=0, second=0, microsecond=0)
    assert routing.coverage(district, start).gaps == 0
    assert DutyShift.objects.values("user").distinct().count() >= 2
    assert not Alert.objects.active().filter(assigned_to__isnull=True).exists()
    assert AuditEntry.objects.filter(action="crisis.alert.raise").exists()
