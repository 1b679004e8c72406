"""The scope gate, view by view: other towns' people are invisible, and ids leak nothing."""

import ast
import datetime as dt
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from xinan.core import scope
from xinan.core.models import AccessGrant, AuditEntry
from xinan.testing import factories


def test_it_lists_only_people_in_the_users_grid(grid_worker, person_a, person_b):
    assert list(scope.persons(grid_worker)) == [person_a]


def test_it_gives_a_district_admin_every_town(district_admin, person_a, person_b):
    assert set(scope.persons(district_admin)) == {person_a, person_b}


def test_it_gives_a_town_admin_only_their_town(town_admin, person_a, person_b):
    assert list(scope.persons(town_admin)) == [person_a]


def test_it_gives_sysadmins_and_residents_no_people(sysadmin, resident_user, person_a):
    assert not scope.persons(sysadmin).exists()
    assert not scope.persons(resident_user).exists()


def test_it_gives_institution_staff_their_clients(areas, person_a, person_b):
    chc = factories.institution(areas["town_b"])
    doctor = factories.staff("doctor", institution=chc)
    person_b.institutions.add(chc)
    assert list(scope.persons(doctor)) == [person_b]


def test_it_narrows_related_rows_through_the_person(grid_worker, person_a, person_b):
    from xinan.people.models import Consent

    Consent.objects.create(person=person_a, kind="assessment", granted=True)
    Consent.objects.create(person=person_b, kind="assessment", granted=True)
    visible = scope.filter_related(grid_worker, Consent.objects.all())
    assert [c.person for c in visible] == [person_a]


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("grid_worker", scope.Detail.ATTENTION),
        ("counsellor", scope.Detail.SCORES),
        ("psychiatrist", scope.Detail.FULL),
    ],
)
def test_it_decides_how_much_a_role_sees(request, persona, expected, person_a):
    user = request.getfixturevalue(persona)
    assert scope.detail_for(user, person_a) == expected


PERSON_URLS = ["/people/{pk}/", "/people/{pk}/edit/"]


@pytest.mark.parametrize("url", PERSON_URLS)
def test_it_404s_outside_scope(client, other_grid_worker, person_a, url):
    client.force_login(other_grid_worker)
    assert client.get(url.format(pk=person_a.pk)).status_code == 404


@pytest.mark.parametrize("url", PERSON_URLS)
def test_it_404s_the_same_for_missing_ids(client, other_grid_worker, person_a, url):
    client.force_login(other_grid_worker)
    missing = client.get(url.format(pk=person_a.pk + 1000))
    forbidden = client.get(url.format(pk=person_a.pk))
    assert missing.status_code == forbidden.status_code == 404


def test_it_refuses_edits_outside_scope(client, other_grid_worker, person_a):
    client.force_login(other_grid_worker)
    response = client.post(f"/people/{person_a.pk}/edit/", {"name": "改名", "gender": "M"})
    assert response.status_code == 404
    person_a.refresh_from_db()
    assert person_a.name == "张三"


def test_it_refuses_consent_outside_scope(client, other_grid_worker, person_a):
    client.force_login(other_grid_worker)
    response = client.post(
        f"/people/{person_a.pk}/consent/", {"kind": "assessment", "granted": "on"}
    )
    assert response.status_code == 404
    assert not person_a.consents.exists()


def test_it_does_not_list_or_find_other_towns(client, other_grid_worker, person_a):
    client.force_login(other_grid_worker)
    for query in ["张三", person_a.phone, ""]:
        body = client.get("/people/", {"q": query}).content.decode()
        assert f"/people/{person_a.pk}/" not in body
        assert "没有找到居民档案" in body


# Calls that are the gate: the scope module, and an app's selectors built on it.
GATE_MODULES = {"scope", "selectors", "visibility"}


def _gate_bypasses(source: str, names: set[str]) -> list[str]:
    """Lines of a module that use a person-data model's manager other than as an argument of
    a gate call (`scope.within_admin_areas(user, Alert.objects…)`). A line may say why it is
    gated otherwise with a `# scope: …` comment on it or just above it (a resident's own
    result, say)."""
    tree = ast.parse(source)
    lines = source.splitlines()
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}

    def said_why(lineno: int) -> bool:  # on the line, or on a comment line just above it
        above = lines[lineno - 2].strip() if lineno > 1 else ""
        return "# scope:" in lines[lineno - 1] or above.startswith("# scope:")

    def inside_gate_call(node) -> bool:
        while node in parents:
            node = parents[node]
            func = getattr(node, "func", None)
            if isinstance(func, ast.Attribute) and getattr(func.value, "id", "") in GATE_MODULES:
                return True
        return False

    return [
        lines[node.lineno - 1].strip()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in {"objects", "_default_manager"}
        and getattr(node.value, "id", None) in names
        and not said_why(node.lineno)
        and not inside_gate_call(node)
    ]


def _view_and_api_modules() -> list[Path]:
    """Every app's views and API modules (views.py, views_*.py, views/…, api.py, api/…, and
    every module of the API app), found from the installed apps so a new app is covered."""
    from django.apps import apps

    found = []
    for config in apps.get_app_configs():
        root = Path(config.path)
        if not config.name.startswith("xinan."):
            continue
        for path in root.rglob("*.py"):
            parts = path.relative_to(root).parts
            if parts[0] in {"tests", "migrations", "management"}:
                continue
            if config.label == "api" or parts[0].startswith(("views", "api")):
                found.append(path)
    return found


def test_it_knows_every_model_holding_person_data():
    labels = {m._meta.label for m in scope.models_with_person_data()}
    assert {
        "people.Person",
        "people.Consent",
        "core.AccessGrant",
        "screening.Assessment",
        "crisis.Alert",
        "crisis.AlertEvent",  # through its alert
        "crisis.HotlineCall",
    } <= labels
    assert not labels & {"core.Area", "core.Institution", "core.AuditEntry"}


def test_the_bypass_check_catches_a_direct_query():
    names = {"Person", "Alert"}
    source = "x = Alert.objects.filter(pk=1)\ny = scope.persons(user)\nz = Person.objects.get()"
    assert _gate_bypasses(source, names) == [
        "x = Alert.objects.filter(pk=1)",
        "z = Person.objects.get()",
    ]
    gated = "q = scope.within_admin_areas(\n    user, Alert.objects.filter(pk=1)\n).count()"
    assert _gate_bypasses(gated, names) == []
    around = "q = Alert.objects.filter(person__in=scope.persons(user))"
    assert _gate_bypasses(around, names) == [around]
    said = "# scope: my own\nx = Alert.objects.filter(person=me)\ny = Alert.objects.all()"
    assert _gate_bypasses(said, names) == ["y = Alert.objects.all()"]
    assert _gate_bypasses("Person.objects.get(pk=1)  # scope: the grant is the gate", names) == []
    assert _gate_bypasses("PersonTag.objects.all()", names) == []


def test_no_view_or_api_module_bypasses_the_gate():
    """Views and API modules get person-level rows from the scope gate (or an app's selectors
    built on it); a direct manager call on any model holding person data would bypass it."""
    names = {m.__name__ for m in scope.models_with_person_data()}
    modules = _view_and_api_modules()
    root = Path(__file__).resolve().parents[2]
    assert {"people/views.py", "screening/api.py", "api/handler.py"} <= {
        str(p.relative_to(root)) for p in modules
    }
    offenders = {
        str(path.relative_to(root)): lines
        for path in modules
        if (lines := _gate_bypasses(path.read_text(), names))
    }
    assert offenders == {}


def test_it_breaks_the_glass_with_a_reason_for_a_few_hours(other_grid_worker, person_a):
    with pytest.raises(scope.ScopeError, match="至少10个字"):
        scope.break_glass(other_grid_worker, person_a.pk, reason="急")
    grant = scope.break_glass(
        other_grid_worker, person_a.pk, reason="危机热线来电，需核实居住地址与紧急联系人"
    )
    assert scope.get_person(other_grid_worker, person_a.pk) == person_a
    assert scope.detail_for(other_grid_worker, person_a) == scope.Detail.ATTENTION
    assert AuditEntry.objects.filter(action="core.break_glass.open", object_id=person_a.pk).exists()
    with time_machine.travel(grant.expires_at + dt.timedelta(minutes=1)):
        assert not scope.persons(other_grid_worker).filter(pk=person_a.pk).exists()


def test_it_puts_grants_in_the_area_admins_review_queue(
    client, other_grid_worker, town_admin, district_admin, person_a
):
    grant = scope.break_glass(
        other_grid_worker, person_a.pk, reason="危机热线来电，需核实居住地址与紧急联系人"
    )
    client.force_login(town_admin)
    page = client.get("/break-glass/").content.decode()
    assert "危机热线来电" in page and other_grid_worker.username in page
    client.post(f"/break-glass/{grant.pk}/review/", {"outcome": "justified", "note": "属实"})
    grant.refresh_from_db()
    assert grant.review_outcome == "justified" and grant.reviewed_by == town_admin
    with pytest.raises(scope.ScopeError, match="已审核"):
        scope.review_grant(district_admin, grant.pk, outcome="unjustified")


def test_it_hides_grants_from_admins_of_other_towns(client, areas, other_grid_worker, person_a):
    admin_b = factories.staff("area_admin", area=areas["town_b"], username="admin_b")
    grant = scope.break_glass(
        other_grid_worker, person_a.pk, reason="危机热线来电，需核实居住地址与紧急联系人"
    )
    client.force_login(admin_b)
    assert "危机热线来电" not in client.get("/break-glass/").content.decode()
    response = client.post(f"/break-glass/{grant.pk}/review/", {"outcome": "justified"})
    assert response.status_code == 404
    assert AccessGrant.objects.get(pk=grant.pk).reviewed_at is None


def test_it_refuses_break_glass_to_roles_without_person_duties(sysadmin, person_a):
    with pytest.raises(scope.ScopeError, match="不能使用紧急授权"):
        scope.break_glass(sysadmin, person_a.pk, reason="想看一下这个人的档案信息内容")
    assert not AccessGrant.objects.filter(expires_at__gt=timezone.now()).exists()
