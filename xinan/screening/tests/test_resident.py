from django.urls import reverse

from xinan.core.models import OutboxEvent
from xinan.screening.models import Assessment, AssessmentDraft
from xinan.testing import factories

COOKIE = "screening_draft_PHQ-9"


def start(client, **data):
    response = client.post(reverse("screening:consent", args=["PHQ-9"]), {"agree": "1", **data})
    assert response.status_code == 302
    return response


def answer(client, value):
    return client.post(reverse("screening:question", args=["PHQ-9"]), {"answer": str(value)})


def test_it_shows_consent_before_the_first_item(client, db):
    page = client.get(reverse("screening:consent", args=["PHQ-9"])).content.decode()
    assert "开始前请您了解" in page and "不是诊断" in page
    assert not AssessmentDraft.objects.exists()
    # Without consent the item pages send the resident back to the consent screen.
    response = client.get(reverse("screening:question", args=["PHQ-9"]))
    assert response.url == reverse("screening:consent", args=["PHQ-9"])


def test_it_asks_one_item_per_screen_with_progress_and_shows_the_result(client, db, phq9):
    start(client)
    page = client.get(reverse("screening:question", args=["PHQ-9"])).content.decode()
    assert "第 1 题，共 9 题" in page
    assert phq9.items[0].text_zh in page and phq9.items[1].text_zh not in page
    for _n in range(8):
        assert answer(client, 1).status_code == 302
    page = client.get(reverse("screening:question", args=["PHQ-9"])).content.decode()
    assert "第 9 题，共 9 题" in page and "提交" in page
    response = answer(client, 0)
    a = Assessment.objects.get()
    assert response.url == reverse("screening:result", args=[a.pk])
    assert (a.total, a.mode, a.person_id) == (8, "self", None)
    page = client.get(response.url).content.decode()
    assert "总分 8" in page and "轻度" in page
    assert "tel:12356" in page and "附近的服务点" in page
    # Anonymous, in a deployment that set no booking link: the page says so, hotline below.
    assert "本地区暂未开通在线预约" in page and "在线预约心理咨询" not in page
    assert not AssessmentDraft.objects.exists()


def test_it_refuses_to_move_on_without_an_answer(client, db):
    start(client)
    response = client.post(reverse("screening:question", args=["PHQ-9"]), {})
    assert response.status_code == 400 and "请选择一个选项" in response.content.decode()


def test_it_resumes_where_the_resident_stopped(client, db):
    start(client)
    answer(client, 2)
    answer(client, 2)
    token = client.cookies[COOKIE].value
    # Later, in a fresh browser session on the same phone: only the cookie is left.
    client.cookies.pop("sessionid", None)
    page = client.get(reverse("screening:pick")).content.decode()
    assert "继续上次的自测" in page
    page = client.get(reverse("screening:question", args=["PHQ-9"])).content.decode()
    assert "第 3 题，共 9 题" in page
    client.post(reverse("screening:question", args=["PHQ-9"]), {"back": "1"})
    page = client.get(reverse("screening:question", args=["PHQ-9"])).content.decode()
    assert "第 2 题" in page and 'value="2" checked' in page
    assert AssessmentDraft.objects.get(token=token).answers == {"1": 2, "2": 2}


def test_it_shows_the_crisis_screen_first_on_a_critical_answer(client, db):
    start(client)
    for value in [0, 0, 0, 0, 0, 0, 0, 0, 2]:
        response = answer(client, value)
    page = client.get(response.url).content.decode()
    main = page[page.index("<main") :]
    assert "请现在就和我们联系" in main
    assert main.index("tel:12356") < main.index("您的回答提示") < main.index("接下来会发生什么")
    assert "总分" not in page  # the score waits behind the hotline
    assert "匿名作答，我们无法主动联系您" in page
    page = client.get(response.url + "?show=result").content.decode()
    assert "总分 2" in page and page.index("tel:12356") < page.index("总分 2")
    event = OutboxEvent.objects.get(topic="assessment.scored")
    assert event.payload["critical"][0]["item"] == "9"


def test_it_links_the_result_to_the_logged_in_resident(client, areas, resident_user):
    person = factories.PersonFactory(home_area=areas["grid_a"], user=resident_user)
    areas["district"].hotline = "021-12320"
    areas["district"].save()
    factories.service_site(areas["village_a"], "安顺心理驿站")
    client.force_login(resident_user)
    start(client, link="1")
    for value in [3, 3, 3, 3, 0, 0, 0, 0, 0]:
        response = answer(client, value)
    a = Assessment.objects.get()
    assert a.person == person and a.area_code == areas["grid_a"].code
    consent = person.consents.get()
    assert (consent.kind, consent.granted, consent.recorded_by) == (
        "assessment",
        True,
        resident_user,
    )
    page = client.get(response.url).content.decode()
    assert "tel:021-12320" in page and "安顺心理驿站" in page
    # A site without a phone or a booking link: nothing to book with yet.
    assert "本地区暂未开通在线预约" in page and "可在下方的服务点" not in page
    page = client.get(reverse("screening:mine")).content.decode()
    assert "trend-data" in page and "echarts.min.js" in page and 'nonce="' in page
    assert a.band_label in page


def test_it_answers_anonymously_when_the_resident_unticks_the_link(client, areas, resident_user):
    factories.PersonFactory(home_area=areas["grid_a"], user=resident_user)
    client.force_login(resident_user)
    start(client)
    for _n in range(9):
        answer(client, 0)
    assert Assessment.objects.get().person is None


def test_it_404s_someone_elses_result(client, person_a):
    from xinan.screening import services

    a = services.submit_assessment(
        instrument_code="PHQ-9", answers=[0] * 9, mode="self", actor=None, person=person_a
    )
    assert client.get(reverse("screening:result", args=[a.pk])).status_code == 404


def test_it_says_a_licensed_scale_cannot_be_self_administered(client, db, licensed_only):
    page = client.get(reverse("screening:pick")).content.decode()
    assert "需由工作人员协助的量表" in page and "LOCKED-1" in page
    response = client.post(reverse("screening:consent", args=["LOCKED-1"]), {"agree": "1"})
    assert "不能在线自测" in response.content.decode()
    assert not AssessmentDraft.objects.exists()


def test_the_result_links_to_booking_nearest_first(client, areas, resident_user, settings):
    from xinan.core import services

    def booking(area_code):
        return services.nearest_help(area_code)["booking_url"]

    factories.PersonFactory(home_area=areas["grid_a"], user=resident_user)
    site = factories.service_site(areas["village_a"], "安顺心理驿站")
    site.phone, site.booking_url = "021-62000000", "https://booking.example.cn/anshun"
    site.save()
    areas["district"].booking_url = "https://booking.example.cn/changning"
    areas["district"].save()
    settings.BOOKING_URL = "https://booking.example.cn/shanghai"
    client.force_login(resident_user)
    start(client, link="1")
    for value in [1, 1, 1, 1, 0, 0, 0, 0, 0]:
        response = answer(client, value)
    page = client.get(response.url).content.decode()
    # The grid inherits its district's link; the site offers its own and its phone.
    assert 'href="https://booking.example.cn/changning"' in page and "在线预约心理咨询" in page
    assert 'href="https://booking.example.cn/anshun"' in page
    assert 'href="tel:021-62000000"' in page and "电话预约 021-62000000" in page
    assert page.index("预约心理咨询") < page.index("附近的服务点")
    # A nearer area's own link wins; without any, the deployment's; without an area, too.
    areas["town_a"].booking_url = "https://booking.example.cn/huayang"
    areas["town_a"].save()
    assert booking(areas["grid_a"].code) == "https://booking.example.cn/huayang"
    assert booking(areas["town_b"].code) == "https://booking.example.cn/changning"
    areas["district"].booking_url = ""
    areas["district"].save()
    assert booking(areas["town_b"].code) == "https://booking.example.cn/shanghai"
    assert booking("") == "https://booking.example.cn/shanghai"
    # No link anywhere, but the site has a phone and its own link: book there.
    areas["town_a"].booking_url = ""
    areas["town_a"].save()
    settings.BOOKING_URL = ""
    page = client.get(response.url).content.decode()
    assert "可在下方的服务点在线或电话预约咨询" in page and "在线预约心理咨询" not in page
