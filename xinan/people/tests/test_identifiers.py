"""Finding 11.3 (the person edit form, tag lists, exact-ID search): identifiers at the viewer's
detail level, every such view audited, and no hint that an out-of-scope person exists."""

import re

import pytest

from xinan.core.models import AccessGrant, AuditEntry
from xinan.testing import factories


def _edit_data(person, **change):
    data = {
        "name": person.name,
        "gender": person.gender,
        "birth_date": person.birth_date.isoformat() if person.birth_date else "",
        "id_number": "",
        "phone": "",
        "home_area": person.home_area_id,
        "address": "",
        "tags": [],
    }
    data.update(change)
    return data


def test_a_grid_worker_edits_with_masked_identifiers_and_opening_it_is_audited(
    client, grid_worker, person_a
):
    client.force_login(grid_worker)
    body = client.get(f"/people/{person_a.pk}/edit/").content.decode()
    assert person_a.id_number not in body and "13912345678" not in body
    assert person_a.id_number_masked in body and "139****5678" in body
    assert "留空则不变" in body
    entry = AuditEntry.objects.get(action="people.person.edit_form")
    assert (entry.actor, entry.object_id) == (grid_worker, str(person_a.pk))

    # Saved with the identifiers left empty: they stay as they were.
    response = client.post(f"/people/{person_a.pk}/edit/", _edit_data(person_a, name="张三三"))
    assert response.status_code == 302
    person_a.refresh_from_db()
    assert person_a.name == "张三三" and person_a.phone == "13912345678"
    assert person_a.id_number_masked and person_a.id_number.startswith("310105")
    update = AuditEntry.objects.get(action="people.person.update")
    assert update.changed_fields == ["name"]


def test_a_grid_worker_may_still_correct_a_phone(client, grid_worker, person_a):
    client.force_login(grid_worker)
    client.post(f"/people/{person_a.pk}/edit/", _edit_data(person_a, phone="13600001234"))
    person_a.refresh_from_db()
    assert person_a.phone == "13600001234"


@pytest.mark.parametrize("role", ["counsellor", "psychiatrist"])
def test_roles_that_read_identifiers_see_them_in_the_form(client, areas, person_a, role):
    user = factories.staff(role, area=areas["town_a"])
    client.force_login(user)
    body = client.get(f"/people/{person_a.pk}/edit/").content.decode()
    assert f'value="{person_a.id_number}"' in body and 'value="13912345678"' in body


def test_it_404s_outside_scope(client, other_grid_worker, person_a):
    client.force_login(other_grid_worker)
    assert client.get(f"/people/{person_a.pk}/edit/").status_code == 404
    assert not AuditEntry.objects.filter(action="people.person.edit_form").exists()


def test_a_tag_list_is_audited(client, grid_worker, person_a):
    person_a.tags.add("hiv")
    client.force_login(grid_worker)
    assert "张三" in client.get("/people/", {"tag": "hiv"}).content.decode()
    entry = AuditEntry.objects.get(action="people.person.tag_list")
    assert (entry.actor, entry.object_id) == (grid_worker, "hiv")
    assert "1 人" in entry.reason
    client.get("/people/")
    assert AuditEntry.objects.filter(action="people.person.tag_list").count() == 1


def _search_page(client, number) -> str:
    body = client.get("/people/", {"q": number}).content.decode()
    body = body.replace(number, "NUMBER")
    body = re.sub(r'name="token" value="[^"]*"', 'name="token"', body)
    body = re.sub(r'nonce="[^"]*"', "", body)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", body)


def test_an_exact_id_search_does_not_reveal_an_out_of_scope_person(
    client, other_grid_worker, person_a
):
    client.force_login(other_grid_worker)
    nobody = factories.valid_id_number("19750505")
    assert _search_page(client, person_a.id_number) == _search_page(client, nobody)
    entries = AuditEntry.objects.filter(action="people.person.id_search", actor=other_grid_worker)
    assert entries.count() == 2
    assert all(person_a.id_number not in e.reason and e.object_id == "" for e in entries)


def test_an_exact_id_search_in_scope_is_audited_with_the_person(client, grid_worker, person_a):
    client.force_login(grid_worker)
    client.get("/people/", {"q": person_a.id_number})
    entry = AuditEntry.objects.get(action="people.person.id_search")
    assert entry.object_id == str(person_a.pk) and entry.reason == person_a.id_number_masked


def test_break_glass_for_a_number_nobody_has_says_so_and_opens_nothing(
    client, other_grid_worker, areas
):
    client.force_login(other_grid_worker)
    page = client.get("/people/", {"q": factories.valid_id_number("19750505")})
    token = page.context["break_glass_form"].initial["token"]
    response = client.post(
        "/people/break-glass/",
        {"token": token, "reason": "危机干预需要核实地址与联系人信息"},
        follow=True,
    )
    assert "没有该身份证号的档案" in response.content.decode()
    assert not AccessGrant.objects.exists()
    assert AuditEntry.objects.filter(action="people.break_glass.no_match").exists()


@pytest.mark.parametrize(
    ("day", "message"), [("2099-01-01", "不能晚于今天"), ("1899-12-31", "不能早于1900年")]
)
def test_an_impossible_birth_date_is_refused(client, grid_worker, areas, day, message):
    client.force_login(grid_worker)
    data = {
        "name": "王五",
        "gender": "M",
        "birth_date": day,
        "home_area": areas["grid_a"].code,
    }
    page = client.post("/people/new/", data)
    assert page.status_code == 200 and message in page.content.decode()
