"""Personal data export and erasure per person (PIPL, issue 11)."""

import json

import pytest
from django.db import connection

from xinan.core import privacy
from xinan.core.models import AuditEntry
from xinan.crisis import services as crisis
from xinan.people import services_privacy
from xinan.people.models import Person
from xinan.people.services import PersonError
from xinan.screening import services as screening
from xinan.screening.models import Assessment, Mode
from xinan.testing import factories

REASON = "本人书面申请，2026-12-01受理"


@pytest.fixture
def history(person_a, grid_worker, counsellor, areas):
    """Person A with an account, a consent, an assessment and a closed alert."""
    account = factories.UserFactory(username="resident_a")
    account.set_phone("13912345678")
    account.save()
    person_a.user = account
    person_a.save()
    screening.submit_assessment(
        instrument_code="PHQ-9",
        answers=[1, 2, 1, 0, 1, 2, 1, 0, 1],
        mode=Mode.PAPER,
        actor=grid_worker,
        person=person_a,
        site="安顺路社区卫生站",
        idempotency_key="k-person-a",
    )
    alert = crisis.raise_manual_alert(person_a, actor=grid_worker, level="orange", reason="失眠")
    crisis_worker = factories.staff("crisis_worker", area=areas["town_a"], username="cw_priv")
    crisis.acknowledge_alert(alert, actor=crisis_worker)
    crisis.close_alert(alert, actor=crisis_worker, reason="已随访，情况稳定")
    return person_a


def test_every_app_contributes_to_the_registry():
    apps = {"people", "screening", "crisis", "cases", "smd", "booking"}
    assert apps <= set(privacy.exporters())
    assert apps <= set(privacy.erasers())
    assert {"crisis", "cases", "smd", "booking"} <= set(privacy.blockers())


def test_it_exports_everything_linked_audited(history, town_admin):
    doc = services_privacy.export_person(history, actor=town_admin, reason=REASON)
    data = doc["data"]
    assert data["people"]["record"]["id_number"] == history.id_number
    assert data["people"]["record"]["notes"] == "夜间失眠，情绪低落"
    assert data["people"]["account"]["phone"] == "13912345678"
    (a,) = data["screening"]["assessments"]
    assert (a["instrument"], a["total"], a["site"]) == ("PHQ-9", 9, "安顺路社区卫生站")
    (alert,) = data["crisis"]["alerts"]
    assert alert["summary"] == "失眠" and alert["close_reason"] == "已随访，情况稳定"
    json.dumps(doc, ensure_ascii=False)  # one file
    entry = AuditEntry.objects.get(action=services_privacy.EXPORT_ACTION)
    assert (entry.actor_id, entry.object_id, entry.reason) == (
        town_admin.pk,
        str(history.pk),
        REASON,
    )


def test_it_erases_identifiers_and_keeps_counts_and_the_audit_trail(history, district_admin):
    audit_before = list(AuditEntry.objects.order_by("id").values_list("id", "action", "reason"))
    services_privacy.erase_person(history, actor=district_admin, reason=REASON)
    person = Person.objects.get(pk=history.pk)
    assert person.erased_at is not None and person.name == "（已删除）"
    assert (person.id_number, person.id_number_hash, person.phone, person.notes) == (
        "",
        None,
        "",
        "",
    )
    assert person.birth_date.isoformat() == "1980-01-01"
    assert person.home_area_id == history.home_area_id and person.user is None
    account = type(history.user).objects.get(pk=history.user_id)
    assert not account.is_active and account.phone_hash is None
    assert not account.has_usable_password() and "1391234" not in account.username
    a = Assessment.objects.get(person=person)
    assert (a.total, a.band, a.site, a.idempotency_key) == (9, a.band, "", None)
    alert = person.alerts.get()
    assert alert.summary == "（已删除）" and alert.close_reason == ""
    assert all(e.note == "" for e in alert.events.all())
    # nothing of it left in clear or ciphertext that a key could open
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, id_number, notes FROM people_person WHERE id = %s", [person.pk]
        )
        assert cursor.fetchone() == ("（已删除）", "", "")
    # the audit trail: every earlier entry as it was, plus the erasure
    assert (
        list(AuditEntry.objects.order_by("id").values_list("id", "action", "reason"))[
            : len(audit_before)
        ]
        == audit_before
    )
    entry = AuditEntry.objects.get(action=services_privacy.ERASE_ACTION)
    assert entry.area_code == history.home_area_id and entry.reason == REASON
    with pytest.raises(PersonError, match="已于"):
        services_privacy.erase_person(person, actor=district_admin, reason=REASON)


def test_it_refuses_erasure_while_an_alert_is_open(person_a, grid_worker, town_admin):
    crisis.raise_manual_alert(person_a, actor=grid_worker, level="orange", reason="情绪低落")
    with pytest.raises(PersonError, match="1 条未关闭的危机预警"):
        services_privacy.erase_person(person_a, actor=town_admin, reason=REASON)
    assert Person.objects.get(pk=person_a.pk).id_number == person_a.id_number
    assert not AuditEntry.objects.filter(action=services_privacy.ERASE_ACTION).exists()


def test_it_refuses_erasure_while_a_case_is_open(person_a, town_admin, areas):
    from xinan.cases.models import Case

    Case.objects.create(person=person_a, line="general", source="manual", area_code="310105001001")
    with pytest.raises(PersonError, match="未结案的个案"):
        services_privacy.erase_person(person_a, actor=town_admin, reason=REASON)


def test_only_area_admins_of_the_home_with_a_reason(person_a, person_b, town_admin, psychiatrist):
    with pytest.raises(PersonError, match="管理员"):
        services_privacy.export_person(person_a, actor=psychiatrist, reason=REASON)
    with pytest.raises(PersonError, match="管理员"):
        services_privacy.erase_person(person_b, actor=town_admin, reason=REASON)
    with pytest.raises(PersonError, match="申请依据"):
        services_privacy.export_person(person_a, actor=town_admin, reason="要")


def test_the_page_exports_and_erases(client, history, town_admin):
    client.force_login(town_admin)
    page = client.get(f"/people/{history.pk}/").content.decode()
    assert f"/people/{history.pk}/privacy/" in page
    response = client.post(f"/people/{history.pk}/privacy/", {"action": "export", "reason": REASON})
    assert (
        response["Content-Disposition"] == f'attachment; filename="person-{history.pk}-data.json"'
    )
    assert json.loads(response.content)["data"]["people"]["record"]["name"] == "张三"
    page = client.post(
        f"/people/{history.pk}/privacy/", {"action": "erase", "reason": REASON}
    ).content.decode()
    assert "请勾选确认后再删除" in page
    assert Person.objects.get(pk=history.pk).erased_at is None
    response = client.post(
        f"/people/{history.pk}/privacy/", {"action": "erase", "reason": REASON, "confirm": "on"}
    )
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert "已删除该居民的个人信息" in page and "张三" not in page


def test_it_404s_outside_scope(client, person_b, town_admin, grid_worker, person_a):
    client.force_login(town_admin)
    assert client.get(f"/people/{person_b.pk}/privacy/").status_code == 404
    client.force_login(grid_worker)  # no area admin: no such page
    assert client.get(f"/people/{person_a.pk}/privacy/").status_code == 404
