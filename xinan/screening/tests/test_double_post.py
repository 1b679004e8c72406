"""Finding 11.9: a paper or interview form posted twice saves once; absurd dates are refused."""

import re

import pytest
from django.urls import reverse

from xinan.screening.models import Assessment


def _token(client, url) -> str:
    page = client.get(url).content.decode()
    return re.search(r'name="form_token" value="([^"]+)"', page).group(1)


def _paper(person, token, **change):
    return {
        "id_number": person.id_number,
        "instrument": "PHQ-9",
        "answers": "012301230",
        "assessed_on": "2026-11-21",
        "site": "社区卫生服务中心",
        "form_token": token,
        **change,
    }


def test_the_same_paper_form_posted_twice_saves_once(client, grid_worker, person_a):
    client.force_login(grid_worker)
    url = reverse("screening:paper")
    token = _token(client, url)
    first = client.post(url, _paper(person_a, token))
    second = client.post(url, _paper(person_a, token), follow=True)
    assert first.status_code == 302 and second.status_code == 200
    a = Assessment.objects.get()
    assert f"第 {a.pk} 号" in second.content.decode()  # the one saved the first time
    # The next page gives a new token: the next form is a new assessment.
    assert client.post(url, _paper(person_a, _token(client, url))).status_code == 302
    assert Assessment.objects.count() == 2


def test_two_users_cannot_collide_on_a_token(client, grid_worker, counsellor, person_a):
    url = reverse("screening:paper")
    client.force_login(grid_worker)
    token = _token(client, url)
    client.post(url, _paper(person_a, token))
    client.force_login(counsellor)
    client.post(url, _paper(person_a, token))
    assert Assessment.objects.count() == 2


def test_the_same_interview_posted_twice_saves_once(client, counsellor, person_a):
    client.force_login(counsellor)
    url = reverse("screening:interview", args=[person_a.pk, "GAD-7"])
    token = _token(client, url)
    data = {f"item_{n}": "1" for n in range(1, 8)} | {
        "assessed_on": "2026-11-21",
        "form_token": token,
    }
    assert client.post(url, data).status_code == 302
    assert client.post(url, data).status_code == 302
    assert Assessment.objects.count() == 1


@pytest.mark.parametrize("day", ["1900-01-01", "1999-12-31"])
def test_it_refuses_an_assessment_date_before_2000(client, grid_worker, person_a, day):
    client.force_login(grid_worker)
    url = reverse("screening:paper")
    page = client.post(url, _paper(person_a, _token(client, url), assessed_on=day))
    assert page.status_code == 400
    assert "测评日期不能早于2000年1月1日" in page.content.decode()
    assert not Assessment.objects.exists()
