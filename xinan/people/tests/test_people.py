import pytest
from django.db import connection

from xinan.core.models import AuditEntry
from xinan.people import services
from xinan.people.models import Person
from xinan.testing import factories


def _form(areas, **overrides):
    data = {
        "name": "王五",
        "gender": "M",
        "birth_date": "",
        "id_number": factories.valid_id_number("19700315"),
        "phone": "13611112222",
        "home_area": areas["grid_a"].code,
        "address": "安顺路1号",
        "tags": ["elderly"],
        "notes": "",
    }
    data.update(overrides)
    return data


def test_it_creates_a_person_with_encrypted_id_and_phone(client, grid_worker, areas):
    client.force_login(grid_worker)
    data = _form(areas)
    response = client.post("/people/new/", data)
    person = Person.objects.get(name="王五")
    assert response.url == f"/people/{person.pk}/"
    assert person.id_number == data["id_number"] and person.birth_date.isoformat() == "1970-03-15"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id_number, phone, address FROM people_person WHERE id=%s", [person.pk]
        )
        stored = cursor.fetchone()
    assert data["id_number"] not in stored[0] and "13611112222" not in stored[1]
    assert "安顺路" not in stored[2]
    assert list(person.tags.values_list("code", flat=True)) == ["elderly"]
    entry = AuditEntry.objects.get(action="people.person.create")
    assert "id_number" in entry.changed_fields and data["id_number"] not in str(
        entry.changed_fields
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id_number", "310105197003150011", "校验位不正确"),
        ("id_number", "31010519700315", "18位"),
        ("phone", "1234", "手机号应为11位"),
        ("name", "   ", "必填"),
    ],
)
def test_it_refuses_bad_input_with_a_message_naming_the_field(
    client, grid_worker, areas, field, value, message
):
    client.force_login(grid_worker)
    response = client.post("/people/new/", _form(areas, **{field: value}))
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    assert 'value="13611112222"' in body or field == "phone"  # what was typed is kept
    assert not Person.objects.exists()


def test_it_refuses_a_home_outside_the_users_scope(client, grid_worker, areas):
    client.force_login(grid_worker)
    response = client.post("/people/new/", _form(areas, home_area=areas["grid_b"].code))
    assert "有效的选项" in response.content.decode()
    assert not Person.objects.exists()


def test_a_duplicate_id_links_to_the_existing_record_in_scope(client, grid_worker, areas, person_a):
    client.force_login(grid_worker)
    response = client.post("/people/new/", _form(areas, id_number=person_a.id_number.lower()))
    body = response.content.decode()
    assert "该身份证号已有档案" in body and f"/people/{person_a.pk}/" in body
    assert Person.objects.count() == 1


def test_a_duplicate_outside_scope_is_refused_without_a_link(
    client, other_grid_worker, areas, person_a
):
    client.force_login(other_grid_worker)
    data = _form(areas, id_number=person_a.id_number, home_area=areas["grid_b"].code)
    body = client.post("/people/new/", data).content.decode()
    assert "不在您的管辖范围内" in body and f"/people/{person_a.pk}/" not in body


def test_lists_mask_id_numbers_and_phones(client, grid_worker, person_a):
    client.force_login(grid_worker)
    body = client.get("/people/").content.decode()
    masked = person_a.id_number[:4] + "*" * 10 + person_a.id_number[-4:]
    assert masked in body and person_a.id_number not in body
    assert "13912345678" not in body


def test_it_finds_by_exact_id_number_and_phone_and_name(grid_worker, person_a, areas):
    factories.PersonFactory(name="张三丰", home_area=areas["grid_a"])
    assert list(services.search(grid_worker, person_a.id_number)) == [person_a]
    assert list(services.search(grid_worker, "13912345678")) == [person_a]
    assert {p.name for p in services.search(grid_worker, "张三")} == {"张三", "张三丰"}
    # Another last character than the number's own (1 in 11 numbers ends in 0).
    wrong = person_a.id_number[:17] + ("1" if person_a.id_number.endswith("0") else "0")
    assert not services.search(grid_worker, wrong).exists()


def test_grid_workers_see_attention_not_notes(client, grid_worker, psychiatrist, person_a):
    client.force_login(grid_worker)
    body = client.get(f"/people/{person_a.pk}/").content.decode()
    assert "夜间失眠" not in body and "不显示测评分数" in body
    client.force_login(psychiatrist)
    assert "夜间失眠" in client.get(f"/people/{person_a.pk}/").content.decode()


def test_editing_keeps_notes_a_role_cannot_see(client, grid_worker, person_a, areas):
    client.force_login(grid_worker)
    data = _form(areas, name="张三", id_number=person_a.id_number, tags=["worker"])
    data.pop("notes")
    client.post(f"/people/{person_a.pk}/edit/", data)
    person_a.refresh_from_db()
    assert person_a.notes == "夜间失眠，情绪低落"
    assert list(person_a.tags.values_list("code", flat=True)) == ["worker"]


def test_break_glass_from_an_exact_id_search(client, other_grid_worker, person_a):
    client.force_login(other_grid_worker)
    page = client.get("/people/", {"q": person_a.id_number})
    token = page.context["break_glass_form"].initial["token"]
    assert client.get("/people/", {"q": "张三"}).context["break_glass_form"] is None
    response = client.post(
        "/people/break-glass/", {"token": token, "reason": "危机干预需要核实地址与联系人信息"}
    )
    assert response.url == f"/people/{person_a.pk}/"
    body = client.get(response.url).content.decode()
    assert "紧急授权" in body
    assert AuditEntry.objects.filter(
        action="people.person.view", reason__contains="危机干预"
    ).exists()


def test_a_forged_break_glass_token_is_refused(client, other_grid_worker, person_a):
    client.force_login(other_grid_worker)
    response = client.post(
        "/people/break-glass/",
        {"token": str(person_a.pk), "reason": "危机干预需要核实地址与联系人"},
    )
    assert response.url == "/people/"
    assert client.get(f"/people/{person_a.pk}/").status_code == 404


def test_consent_is_recorded(client, grid_worker, person_a):
    client.force_login(grid_worker)
    client.post(f"/people/{person_a.pk}/consent/", {"kind": "assessment", "granted": "on"})
    consent = person_a.consents.get()
    assert consent.granted and consent.recorded_by == grid_worker


def test_the_list_costs_a_fixed_number_of_queries(
    client, grid_worker, areas, django_assert_max_num_queries
):
    for _ in range(30):
        factories.PersonFactory(home_area=areas["grid_a"])
    client.force_login(grid_worker)
    with django_assert_max_num_queries(12):
        client.get("/people/")


def test_the_new_record_form_offers_notes_only_to_roles_that_read_them(
    client, grid_worker, psychiatrist
):
    client.force_login(grid_worker)
    assert 'name="notes"' not in client.get("/people/new/").content.decode()
    client.force_login(psychiatrist)
    assert 'name="notes"' in client.get("/people/new/").content.decode()


def test_the_person_page_names_the_home_area_and_keeps_its_code_as_a_hint(
    client, grid_worker, person_a
):
    client.force_login(grid_worker)
    body = client.get(f"/people/{person_a.pk}/").content.decode()
    area = person_a.home_area
    assert f">{area.name}</dd>" in body
    assert f"（{area.code}）" not in body and f'title="区划代码 {area.code}"' in body
