"""The scope gate: the one place that decides which person-level rows a user may see.

Every view and API path that touches person-level data asks this module for its queryset or
object. Out-of-scope and missing records look the same (404), so ids leak nothing.
"""

import datetime as dt
import enum
import functools
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from xinan.core import audit
from xinan.core.lib import fastsql
from xinan.core.models import BreakGlassGrant


class Detail(enum.IntEnum):
    """How much of a person's record a role sees; higher includes lower."""

    NONE = 0
    ATTENTION = 1  # demographics, contact and "needs attention": no scores, no notes
    SCORES = 2  # plus assessment scores and bands
    FULL = 3  # plus clinical notes


ROLE_DETAIL = {
    "grid_worker": Detail.ATTENTION,
    "social_worker": Detail.ATTENTION,
    "area_admin": Detail.ATTENTION,
    "counsellor": Detail.SCORES,
    "doctor": Detail.SCORES,
    "crisis_worker": Detail.SCORES,
    "psychiatrist": Detail.FULL,
    # sysadmins run the deployment; they get no person-level access from that role.
    "sysadmin": Detail.NONE,
    "resident": Detail.NONE,
}


class ScopeError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Reach:
    """What one membership reaches: an area prefix or an institution, at a detail level."""

    detail: Detail
    area_prefix: str | None = None
    institution_id: int | None = None


def reaches(user) -> list[Reach]:
    if not user.is_authenticated:
        return []
    cached = getattr(user, "_scope_reaches", None)
    if cached is not None:
        return cached
    result = []
    for m in user.active_memberships():
        detail = ROLE_DETAIL.get(m.role, Detail.NONE)
        if detail == Detail.NONE:
            continue
        if m.area_id:
            result.append(Reach(detail, area_prefix=m.area.prefix))
        elif m.institution_id:
            result.append(Reach(detail, institution_id=m.institution_id))
    user._scope_reaches = result
    return result


def _person_model():
    from xinan.people.models import Person

    return Person


def _reach_q(user, person_path: str) -> Q:
    """Q selecting persons (through `person_path`) inside the user's memberships."""
    prefix = f"{person_path}__" if person_path else ""
    q = Q(pk__in=[])
    Person = _person_model()
    for reach in reaches(user):
        if reach.area_prefix is not None:
            q |= Q(**{f"{prefix}home_area__code__startswith": reach.area_prefix})
        else:
            clients = Person.institutions.through.objects.filter(
                institution_id=reach.institution_id
            ).values("person_id")
            q |= Q(**{f"{prefix}pk__in" if prefix else "pk__in": clients})
    return q


def _grant_q(user, person_path: str) -> Q:
    granted = BreakGlassGrant.objects.filter(user=user, expires_at__gt=timezone.now()).values(
        "person_id"
    )
    key = f"{person_path}__pk__in" if person_path else "pk__in"
    return Q(**{key: granted})


def persons(user, *, include_grants: bool = True) -> QuerySet:
    """Every Person the user may list; empty for users without person-level roles."""
    Person = _person_model()
    return filter_related(user, Person.objects.all(), person_path="", include_grants=include_grants)


def filter_related(
    user, queryset: QuerySet, *, person_path: str = "person", include_grants: bool = True
) -> QuerySet:
    """Narrow any queryset of person-linked rows (assessments, alerts…) to the user's scope."""
    if not user.is_authenticated or not reaches(user):
        if not (include_grants and user.is_authenticated):
            return queryset.none()
        return queryset.filter(_grant_q(user, person_path)).distinct()
    q = _reach_q(user, person_path)
    if include_grants:
        q |= _grant_q(user, person_path)
    return queryset.filter(q)


def find_person(user, fields: tuple[str, ...] = ("pk", "name", "home_area_id"), **unique):
    """The person matching one unique lookup (e.g. `id_number_hash=…`) if the user may list
    them, else None: the same answer as `persons(user).filter(**unique)`.

    For entry paths that look people up one form at a time: one indexed fetch, then the
    memberships are checked in Python instead of building the scope query each time.
    """
    if not user.is_authenticated:
        return None
    Person = _person_model()
    person = _fetch_one(Person, fields, unique)
    if person is None:
        return None
    institutions = []
    for reach in reaches(user):
        if reach.area_prefix is not None:
            if (person.home_area_id or "").startswith(reach.area_prefix):
                return person
        else:
            institutions.append(reach.institution_id)
    if (
        institutions
        and Person.institutions.through.objects.filter(
            person_id=person.pk, institution_id__in=institutions
        ).exists()
    ):
        return person
    if BreakGlassGrant.objects.filter(
        user=user, person_id=person.pk, expires_at__gt=timezone.now()
    ).exists():
        return person
    return None


def _fetch_one(model, fields: tuple[str, ...], unique: dict):
    """One row by a unique column as a model instance with only `fields` loaded (the others
    deferred), in plain SQL: the ORM's query building costs more than the indexed fetch."""
    ((name, value),) = unique.items()
    sql, attnames, lookup = _fetch_one_statement(model, fields, name, connection.vendor)
    row = fastsql.fetchone(sql, [lookup.get_db_prep_value(value, connection)])
    if row is None:
        return None
    return model.from_db(connection.alias, attnames, row)


@functools.cache
def _fetch_one_statement(model, fields: tuple[str, ...], name: str, vendor: str):
    # Built once per shape and database kind: its names come from the model's meta.
    meta = model._meta
    columns = [meta.pk if f == "pk" else meta.get_field(f.removesuffix("_id")) for f in fields]
    qn = connection.ops.quote_name
    lookup = meta.get_field(name)
    sql = "SELECT {} FROM {} WHERE {} = %s LIMIT 1".format(  # noqa: S608 — names from meta
        ", ".join(qn(c.column) for c in columns), qn(meta.db_table), qn(lookup.column)
    )
    return sql, [c.attname for c in columns], lookup


def get_person(user, pk, *, for_update: bool = False):
    """The person with this id if the user may open it, else Http404 (never 403)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    qs = persons(user)
    if for_update:
        qs = qs.select_for_update()
    try:
        return qs.select_related("home_area").get(pk=pk)
    except qs.model.DoesNotExist:
        raise Http404 from None


def detail_for(user, person) -> Detail:
    """The most a user's memberships let them see of this person."""
    best = Detail.NONE
    client_of = None
    for reach in reaches(user):
        if reach.area_prefix is not None and person.home_area_id.startswith(reach.area_prefix):
            best = max(best, reach.detail)
        elif reach.institution_id is not None:
            if client_of is None:
                client_of = set(person.institutions.values_list("pk", flat=True))
            if reach.institution_id in client_of:
                best = max(best, reach.detail)
    if best == Detail.NONE and active_grant(user, person) is not None:
        # Break-the-glass: the user's highest role detail, for the grant's lifetime.
        best = max((r.detail for r in reaches(user)), default=Detail.ATTENTION)
    return best


def can_break_glass(user) -> bool:
    return user.is_authenticated and any(r.detail >= Detail.ATTENTION for r in reaches(user))


def active_grant(user, person, now: dt.datetime | None = None) -> BreakGlassGrant | None:
    return (
        BreakGlassGrant.objects.filter(
            user=user, person=person, expires_at__gt=now or timezone.now()
        )
        .order_by("-expires_at")
        .first()
    )


def break_glass(user, person_id, *, reason: str) -> BreakGlassGrant:
    """Open a record outside the user's scope for a few hours, with a reason, audited.

    Any staff member with person-level duties may do it; every grant lands in the review queue
    of the area admins above the person's home.
    """
    reason = (reason or "").strip()
    if not can_break_glass(user):
        raise ScopeError(_("您的角色不能使用紧急授权"))
    if len(reason) < 10:
        raise ScopeError(_("请填写至少10个字的紧急理由"))
    Person = _person_model()
    try:
        person = Person.objects.get(pk=int(person_id))  # scope: the grant itself is the gate
    except (Person.DoesNotExist, TypeError, ValueError):
        raise Http404 from None
    now = timezone.now()
    with transaction.atomic():
        grant = BreakGlassGrant.objects.create(
            user=user,
            person=person,
            reason=reason,
            expires_at=now + dt.timedelta(hours=settings.BREAK_GLASS_HOURS),
            area_code=person.home_area_id,
        )
        audit.record("core.break_glass.open", person, actor=user, reason=reason)
    return grant


def admin_prefixes(user) -> list[str]:
    """Area prefixes where the user is an area admin (for review queues and the audit log)."""
    return [m.area.prefix for m in user.active_memberships() if m.role == "area_admin" and m.area]


def area_q(prefixes: list[str], field: str = "area_code") -> Q:
    q = Q(pk__in=[])
    for prefix in prefixes:
        q |= Q(**{f"{field}__startswith": prefix})
    return q


def within_admin_areas(user, queryset: QuerySet, field: str = "area_code") -> QuerySet:
    prefixes = admin_prefixes(user)
    if not prefixes:
        return queryset.none()
    return queryset.filter(area_q(prefixes, field))


def review_grant(user, grant_id, *, outcome: str, note: str = "") -> BreakGlassGrant:
    if outcome not in {"justified", "unjustified"}:
        raise ScopeError(_("请选择审核结论"))
    with transaction.atomic():
        try:
            grant = within_admin_areas(user, BreakGlassGrant.objects.select_for_update()).get(
                pk=grant_id
            )
        except (BreakGlassGrant.DoesNotExist, ValueError):
            raise Http404 from None
        if grant.reviewed_at:
            raise ScopeError(_("该紧急授权已审核"))
        grant.reviewed_by = user
        grant.reviewed_at = timezone.now()
        grant.review_outcome = outcome
        grant.review_note = note
        grant.save(update_fields=["reviewed_by", "reviewed_at", "review_outcome", "review_note"])
        audit.record(
            "core.break_glass.review",
            grant,
            actor=user,
            area_code=grant.area_code,
            reason=f"{outcome}: {note}",
        )
    return grant


def models_with_person_data() -> list[type[models.Model]]:
    return [_person_model()]
