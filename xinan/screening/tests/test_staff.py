import pytest
from django.urls import reverse

from xinan.core.models import AuditEntry, OutboxEvent
from xinan.screening import services
from xinan.screening.models import Assessment


def submit(person, answers=(1,) * 9):
    return services.submit_assessment(
        instrument_code="PHQ-9", answers=list(answers), mode="self", actor=None, person=person
    )


@pytest.mark.parametrize(
    "name, args",
    [
        ("screening:person", lambda p, a: [p.pk]),
        ("screening:interview", lambda p, a: [p.pk, "PHQ-9"]),
        ("screening:assessment", lambda p, a: [a.pk]),
    ],
)
def test_it_404s_outside_scope(client, other_grid_worker, person_a, name, args):
    a = submit(person_a)
    client.force_login(other_grid_worker)
    assert client.get(reverse(name, args=args(person_a, a))).status_code == 404
    missing = reverse(name, args=args(person_a, a)).replace(str(person_a.pk), "999999", 1)
    assert client.get(missing).status_code == 404


def test_it_hides_scores_from_grid_workers_and_shows_them_to_counsellors(
    client, grid_worker, counsellor, person_a
):
    submit(person_a)
    client.force_login(grid_worker)
    page = client.get(reverse("screening:person", args=[person_a.pk])).content.decode()
    assert "PHQ-9" in page and "不显示测评分数" in page and "轻度" not in page
    client.force_login(counsellor)
    page = client.get(reverse("screening:person", args=[person_a.pk])).content.decode()
    assert "轻度" in page
    assert AuditEntry.objects.filter(action="screening.assessment.view").count() == 2


def test_it_records_an_interview_with_who_how_where_and_when(client, counsellor, person_a):
    client.force_login(counsellor)
    url = reverse("screening:interview", args=[person_a.pk, "PHQ-9"])
    data = {f"item_{n}": "2" for n in range(1, 10)} | {"assessed_on": "2026-11-20", "site": "驿站"}
    data["item_9"] = "0"
    response = client.post(url, data)
    assert response.status_code == 302
    a = Assessment.objects.get()
    assert (a.mode, a.entered_by, a.site, a.total) == ("interview", counsellor, "驿站", 16)
    assert a.submitted_at.date().isoformat() == "2026-11-20"
    assert OutboxEvent.objects.get().payload["mode"] == "interview"


def test_it_asks_for_every_item_in_an_interview(client, counsellor, person_a):
    client.force_login(counsellor)
    url = reverse("screening:interview", args=[person_a.pk, "PHQ-9"])
    response = client.post(url, {"item_1": "1", "assessed_on": "2026-11-20"})
    assert "请为此题选择一个答案" in response.content.decode()
    assert not Assessment.objects.exists()


@pytest.mark.parametrize("codes", ["012301230", "0,1,2,3,0,1,2,3,0", "0 1 2 3 0 1 2 3 0"])
def test_it_saves_paper_entry_typed_as_codes(client, grid_worker, person_a, codes):
    client.force_login(grid_worker)
    response = client.post(
        reverse("screening:paper"),
        {
            "id_number": person_a.id_number,
            "instrument": "PHQ-9",
            "answers": codes,
            "assessed_on": "2026-11-21",
            "site": "社区卫生服务中心",
        },
    )
    assert response.status_code == 302
    assert "instrument=PHQ-9" in response.url  # ready for the next form
    a = Assessment.objects.get()
    assert (a.mode, a.entered_by, a.person, a.total) == ("paper", grid_worker, person_a, 12)
    assert a.answers == {str(n): v for n, v in enumerate([0, 1, 2, 3, 0, 1, 2, 3, 0], start=1)}


def test_it_explains_paper_entry_errors_in_chinese(client, grid_worker, person_a, person_b):
    client.force_login(grid_worker)
    url = reverse("screening:paper")
    base = {"instrument": "PHQ-9", "assessed_on": "2026-11-21"}
    page = client.post(url, base | {"id_number": person_a.id_number, "answers": "0123"})
    assert page.status_code == 400 and "收到 4 个答案" in page.content.decode()
    page = client.post(url, base | {"id_number": person_a.id_number, "answers": "012301239"})
    assert "第9题" in page.content.decode()
    page = client.post(url, base | {"id_number": person_b.id_number, "answers": "000000000"})
    assert "查无此人或不在您的管辖范围内" in page.content.decode()
    page = client.post(url, base | {"id_number": "123", "answers": "000000000"})
    assert page.status_code == 400 and "身份证号" in page.content.decode()
    assert not Assessment.objects.exists()


def test_it_404s_paper_entry_for_residents(client, resident_user):
    client.force_login(resident_user)
    assert client.get(reverse("screening:paper")).status_code == 404
