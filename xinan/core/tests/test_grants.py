"""Access grants: a person made visible to a user or an institution, for a reason, until an
expiry or a revocation, each step audited; and each reach rule giving the same answer as a
queryset filter, as a Python check and as a detail level."""

import datetime as dt

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from xinan.core import scope
from xinan.core.lib import crypto
from xinan.core.models import AccessGrant, AuditEntry, GrantKind
from xinan.testing import factories


def _grant(person, *, actor, hours=2, **to):
    return scope.grant_access(
        person,
        kind=to.pop("kind", GrantKind.REFERRAL),
        reason="转介：需跟进抑郁筛查结果",
        source="cases.referral:42",
        expires_at=timezone.now() + dt.timedelta(hours=hours) if hours else None,
        actor=actor,
        **to,
    )


def _agrees(user, person) -> bool:
    """Whether the user reaches the person, asked all three ways; fails if the ways differ."""
    listed = scope.persons(user).filter(pk=person.pk).exists()
    found = scope.find_person(user, id_number_hash=crypto.lookup_hash(person.id_number))
    detail = scope.detail_for(user, person)
    assert listed == (found is not None), "find_person and persons() disagree"
    if detail:
        assert listed, "detail_for gives a level to someone persons() does not list"
    return listed


def test_it_opens_a_person_to_one_user_with_an_audit_row(other_grid_worker, counsellor, person_a):
    assert not _agrees(other_grid_worker, person_a)
    grant = _grant(person_a, to_user=other_grid_worker, actor=counsellor)
    assert _agrees(other_grid_worker, person_a)
    assert scope.get_person(other_grid_worker, person_a.pk) == person_a
    assert scope.detail_for(other_grid_worker, person_a) == scope.Detail.ATTENTION
    entry = AuditEntry.objects.get(action="core.access_grant.open")
    assert (entry.object_id, entry.actor, entry.area_code) == (
        str(person_a.pk),
        counsellor,
        person_a.home_area_id,
    )
    assert "cases.referral:42" in entry.reason and entry.changed_fields == ["referral"]
    assert (grant.kind, grant.source, grant.created_by) == (
        "referral",
        "cases.referral:42",
        counsellor,
    )


def test_it_opens_a_person_to_every_user_of_an_institution(areas, counsellor, person_b):
    chc = factories.institution(areas["town_a"], name="仙霞社区卫生服务中心")
    doctor = factories.staff("doctor", institution=chc, username="doc_chc")
    colleague = factories.staff("counsellor", institution=chc, username="csl_chc")
    elsewhere = factories.staff("doctor", institution=factories.institution(areas["town_a"]))
    assert not _agrees(doctor, person_b)
    _grant(person_b, to_institution=chc, actor=counsellor)
    assert _agrees(doctor, person_b) and _agrees(colleague, person_b)
    assert not _agrees(elsewhere, person_b)
    # Each sees what their own role at the institution shows.
    assert scope.detail_for(doctor, person_b) == scope.Detail.SCORES
    assert scope.detail_for(doctor, person_b, domain="smd") == scope.Detail.SCORES
    assert scope.detail_for(colleague, person_b, domain="smd") == scope.Detail.ATTENTION


def test_an_institution_grant_gives_no_more_than_the_role_held_there(areas, counsellor, person_b):
    chc = factories.institution(areas["town_a"], name="仙霞社区卫生服务中心")
    both = factories.staff("grid_worker", area=areas["grid_a"], username="gw_and_doc")
    both.memberships.create(role="psychiatrist", institution=chc)
    other = factories.institution(areas["town_a"], name="别的机构")
    both.memberships.create(role="grid_worker", institution=other)
    both = type(both).objects.get(pk=both.pk)  # fresh memberships
    _grant(person_b, to_institution=other, actor=counsellor)
    assert scope.detail_for(both, person_b) == scope.Detail.ATTENTION


def test_it_ends_a_grant_at_its_expiry(other_grid_worker, counsellor, person_a):
    grant = _grant(person_a, to_user=other_grid_worker, actor=counsellor, hours=1)
    with time_machine.travel(grant.expires_at - dt.timedelta(minutes=1)):
        assert _agrees(other_grid_worker, person_a)
    with time_machine.travel(grant.expires_at + dt.timedelta(seconds=1)):
        assert not _agrees(other_grid_worker, person_a)
        assert scope.detail_for(other_grid_worker, person_a) == scope.Detail.NONE
        assert not AccessGrant.objects.active().exists()


def test_a_grant_without_expiry_lasts_until_revoked(other_grid_worker, counsellor, person_a):
    grant = _grant(
        person_a, to_user=other_grid_worker, actor=counsellor, hours=0, kind="case_assignment"
    )
    with time_machine.travel(timezone.now() + dt.timedelta(days=400)):
        assert _agrees(other_grid_worker, person_a)
    scope.revoke_access(grant, actor=counsellor, reason="个案已结案")
    assert not _agrees(other_grid_worker, person_a)


def test_it_revokes_a_grant_once_with_an_audit_row(other_grid_worker, counsellor, person_a):
    grant = _grant(person_a, to_user=other_grid_worker, actor=counsellor)
    revoked = scope.revoke_access(grant, actor=counsellor, reason="转介已退回")
    assert not _agrees(other_grid_worker, person_a)
    assert (revoked.revoked_by, revoked.revoke_reason) == (counsellor, "转介已退回")
    entry = AuditEntry.objects.get(action="core.access_grant.revoke")
    assert (entry.object_type, entry.object_id, entry.area_code, entry.reason) == (
        "core.accessgrant",
        str(grant.pk),
        person_a.home_area_id,
        "转介已退回",
    )
    again = scope.revoke_access(grant, actor=counsellor, reason="再撤一次")
    assert again.revoke_reason == "转介已退回"
    assert AuditEntry.objects.filter(action="core.access_grant.revoke").count() == 1


def test_it_refuses_malformed_grants(areas, other_grid_worker, counsellor, person_a):
    chc = factories.institution(areas["town_a"])
    cases = [
        ({"to_user": other_grid_worker, "to_institution": chc}, "一个用户或一个机构"),
        ({}, "一个用户或一个机构"),
        ({"to_user": other_grid_worker, "kind": "curiosity"}, "未知的授权类型"),
        ({"to_user": other_grid_worker, "reason": "  "}, "请填写授权理由"),
        ({"to_user": other_grid_worker, "expires_at": timezone.now()}, "晚于现在"),
    ]
    for kwargs, message in cases:
        args = {
            "kind": "referral",
            "reason": "转介",
            "source": "cases.referral:1",
            "expires_at": None,
            "actor": counsellor,
        } | kwargs
        with pytest.raises(scope.ScopeError, match=message):
            scope.grant_access(person_a, **args)
    assert not AccessGrant.objects.exists() and not AuditEntry.objects.exists()


def test_the_database_refuses_a_grant_to_nobody(counsellor, person_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        AccessGrant.objects.create(
            person=person_a, kind="referral", reason="x", area_code=person_a.home_area_id
        )


def test_filter_related_follows_grants_to_related_rows(other_grid_worker, counsellor, person_a):
    from xinan.people.models import Consent

    Consent.objects.create(person=person_a, kind="assessment", granted=True)
    assert not scope.filter_related(other_grid_worker, Consent.objects.all()).exists()
    _grant(person_a, to_user=other_grid_worker, actor=counsellor)
    assert scope.filter_related(other_grid_worker, Consent.objects.all()).count() == 1
    mine_only = scope.filter_related(other_grid_worker, Consent.objects.all(), include_grants=False)
    assert not mine_only.exists()


@pytest.mark.parametrize(
    "user_fixture",
    ["grid_worker", "other_grid_worker", "counsellor", "psychiatrist", "town_admin", "sysadmin"],
)
def test_each_rule_agrees_across_the_queryset_the_check_and_the_detail(
    request, areas, user_fixture, person_a, person_b, counsellor
):
    """Area, institution and grant rules, expired and revoked grants: the three ways agree."""
    user = request.getfixturevalue(user_fixture)
    chc = factories.institution(areas["town_b"])
    person_b.institutions.add(chc)
    if not user.memberships.filter(role="sysadmin").exists():
        user.memberships.create(role="doctor", institution=chc)
    user = type(user).objects.get(pk=user.pk)
    third = factories.PersonFactory(
        name="王五", home_area=areas["grid_b"], id_number=factories.valid_id_number("19700303")
    )
    fourth = factories.PersonFactory(
        name="赵六", home_area=areas["grid_b"], id_number=factories.valid_id_number("19600404")
    )
    live = _grant(fourth, to_institution=chc, actor=counsellor, hours=10)
    expired = _grant(person_a, to_user=user, actor=counsellor, hours=1)
    revoked = _grant(third, to_user=user, actor=counsellor)
    scope.revoke_access(revoked, actor=counsellor, reason="撤销")
    with time_machine.travel(expired.expires_at + dt.timedelta(minutes=1)):
        seen = {p.name for p in (person_a, person_b, third, fourth) if _agrees(user, p)}
    assert live.is_active()
    expected = {
        "grid_worker": {"张三", "李四", "赵六"},
        "other_grid_worker": {"李四", "王五", "赵六"},
        "counsellor": {"张三", "李四", "赵六"},
        "psychiatrist": {"张三", "李四", "王五", "赵六"},
        "town_admin": {"张三", "李四", "赵六"},
        "sysadmin": set(),
    }[user_fixture]
    assert seen == expected


def test_detail_levels_are_data_by_domain(psychiatrist, grid_worker, person_a):
    assert scope.detail_for(grid_worker, person_a) == scope.Detail.ATTENTION  # old call form
    assert scope.detail_for(grid_worker, person_a, domain="smd") == scope.Detail.FLAG
    assert scope.detail_for(psychiatrist, person_a, domain="case_notes") == scope.Detail.FULL
    with pytest.raises(ValueError, match="unknown detail domain"):
        scope.detail_for(grid_worker, person_a, domain="smdd")


def test_a_new_role_is_a_row_of_the_table(monkeypatch, areas, person_a):
    """A role that sees only a risk flag in one domain needs a row, not code."""
    monkeypatch.setitem(
        scope.DETAIL, "night_watch", dict.fromkeys(scope.DOMAINS, scope.Detail.NONE)
    )
    monkeypatch.setitem(scope.DETAIL["night_watch"], "crisis", scope.Detail.FLAG)
    watch = factories.staff("grid_worker", area=areas["town_a"], username="watch")
    watch.memberships.update(role="night_watch")
    watch = type(watch).objects.get(pk=watch.pk)
    assert scope.detail_for(watch, person_a, domain="crisis") == scope.Detail.FLAG
    assert scope.detail_for(watch, person_a) == scope.Detail.NONE
    assert list(scope.persons(watch, domain="crisis")) == [person_a]


def test_a_police_liaison_sees_only_the_smd_flag_and_lists_no_one(areas, person_a, person_b):
    officer = factories.staff("police", area=areas["town_a"], username="police_a")
    assert scope.detail_for(officer, person_a, domain="smd") == scope.Detail.FLAG
    for domain in ("screening", "crisis", "case_notes"):
        assert scope.detail_for(officer, person_a, domain=domain) == scope.Detail.NONE
    assert not scope.persons(officer).exists()  # the resident list is not theirs
    assert scope.find_person(officer, id_number_hash=crypto.lookup_hash(person_a.id_number)) is None
    assert list(scope.persons(officer, domain="smd")) == [person_a]
    assert scope.detail_for(officer, person_b, domain="smd") == scope.Detail.NONE


def test_break_glass_is_an_access_grant_reviewed_as_before(other_grid_worker, person_a):
    grant = scope.break_glass(
        other_grid_worker, person_a.pk, reason="危机热线来电，需核实居住地址与紧急联系人"
    )
    assert (grant.kind, grant.to_user, grant.created_by, grant.source) == (
        "break_glass",
        other_grid_worker,
        other_grid_worker,
        "people.search",
    )
    assert scope.active_grant(other_grid_worker, person_a) == grant
    assert AuditEntry.objects.get(action="core.break_glass.open").reason.startswith("危机热线")


def test_active_grant_is_break_glass_unless_asked(other_grid_worker, counsellor, person_a):
    referral = _grant(person_a, to_user=other_grid_worker, actor=counsellor)
    assert scope.active_grant(other_grid_worker, person_a) is None
    assert scope.active_grant(other_grid_worker, person_a, kind=None) == referral
    assert scope.grants_for(other_grid_worker, person_a) == [referral]


def test_the_review_page_lists_and_revokes_grants_in_the_admins_areas(
    client, areas, town_admin, other_grid_worker, counsellor, person_a, person_b
):
    chc = factories.institution(areas["town_b"], name="北新泾社区卫生服务中心")
    mine = _grant(person_a, to_institution=chc, actor=counsellor)
    theirs = _grant(person_b, to_user=counsellor, actor=counsellor)
    client.force_login(town_admin)
    body = client.get("/break-glass/").content.decode()
    assert "北新泾社区卫生服务中心" in body and "转介接收" in body
    assert f"/break-glass/{theirs.pk}/revoke/" not in body
    assert client.post(f"/break-glass/{theirs.pk}/revoke/", {"reason": "越权"}).status_code == 404
    assert AccessGrant.objects.get(pk=theirs.pk).is_active()

    page = client.post(f"/break-glass/{mine.pk}/revoke/", {"reason": ""}, follow=True)
    assert "请填写撤销理由" in page.content.decode()
    assert AccessGrant.objects.get(pk=mine.pk).is_active()
    page = client.post(f"/break-glass/{mine.pk}/revoke/", {"reason": "转介已完成"}, follow=True)
    assert "已撤销该访问授权" in page.content.decode()
    mine.refresh_from_db()
    assert mine.revoked_by == town_admin and mine.revoke_reason == "转介已完成"
    assert "没有生效中的访问授权" in page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_migration_turns_break_glass_rows_into_grants(areas, person_a, other_grid_worker):
    executor = MigrationExecutor(connection)
    executor.migrate([("core", "0004_area_and_site_booking_links")])
    old = executor.loader.project_state([("core", "0004_area_and_site_booking_links")]).apps
    BreakGlassGrant = old.get_model("core", "BreakGlassGrant")
    expires = timezone.now() + dt.timedelta(hours=2)
    row = BreakGlassGrant.objects.create(
        user_id=other_grid_worker.pk,
        person_id=person_a.pk,
        reason="旧的紧急授权",
        expires_at=expires,
        area_code=person_a.home_area_id,
    )
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    grant = AccessGrant.objects.get(pk=row.pk)
    assert (grant.kind, grant.to_user_id, grant.created_by_id, grant.source) == (
        "break_glass",
        other_grid_worker.pk,
        other_grid_worker.pk,
        "people.search",
    )
    assert grant.expires_at == expires and grant.is_active()
    assert scope.get_person(other_grid_worker, person_a.pk) == person_a


def test_the_checks_cost_no_query_for_a_person_in_the_users_own_area(
    django_assert_num_queries, grid_worker, person_a
):
    scope.reaches(grid_worker)  # memberships: read once per request
    with django_assert_num_queries(0):
        assert scope.detail_for(grid_worker, person_a) == scope.Detail.ATTENTION
    # The indexed fetch runs through fastsql, outside Django's query log: nothing else runs.
    with django_assert_num_queries(0):
        assert scope.find_person(grid_worker, id_number_hash=crypto.lookup_hash(person_a.id_number))
