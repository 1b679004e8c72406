"""The scope gate: the one place that decides which person-level rows a user may see.

Every view and API path that touches person-level data asks this module for its queryset or
object. Out-of-scope and missing records look the same (404), so ids leak nothing.

A user reaches a person by one of three rules (`_AreaRule`, `_InstitutionRule`, `_GrantRule`).
Each rule is written once and answers three questions: the queryset filter (`q`), the Python
check on one fetched person (`admits`) and how much it shows in a domain (`detail`). `persons`
and `filter_related` OR the filters, `find_person` runs the checks, `detail_for` takes the best
detail of the rules that admit the person.
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
from django.utils.translation import gettext_lazy

from xinan.core import audit
from xinan.core.lib import fastsql
from xinan.core.models import AccessGrant, GrantKind, Institution


class Detail(enum.IntEnum):
    """How much of a person's record in one domain a role sees; higher includes lower."""

    NONE = 0
    FLAG = 1  # only that the person carries a flag in the domain (e.g. a risk level)
    ATTENTION = 2  # demographics, contact and "needs attention": no scores, no notes
    SCORES = 3  # plus assessment scores and bands (in smd: diagnosis, risk, follow-ups)
    FULL = 4  # plus clinical or case notes


# The domains a detail level is asked for. A new domain is a new column of DETAIL below.
DOMAINS = ("screening", "crisis", "smd", "case_notes")
_N, _F, _A, _S, _X = Detail.NONE, Detail.FLAG, Detail.ATTENTION, Detail.SCORES, Detail.FULL

# Role × domain: what each role sees, as data. A new rule ("a police liaison sees only a risk
# flag") is a new row or cell here, not code. Roles not listed see nothing.
DETAIL: dict[str, dict[str, Detail]] = {
    #                 screening crisis smd case_notes
    "grid_worker": dict(zip(DOMAINS, (_A, _A, _F, _A), strict=True)),
    "social_worker": dict(zip(DOMAINS, (_A, _A, _A, _X), strict=True)),
    "area_admin": dict(zip(DOMAINS, (_A, _A, _F, _A), strict=True)),
    "counsellor": dict(zip(DOMAINS, (_S, _S, _A, _X), strict=True)),
    "doctor": dict(zip(DOMAINS, (_S, _S, _S, _S), strict=True)),
    "crisis_worker": dict(zip(DOMAINS, (_S, _X, _A, _S), strict=True)),
    "psychiatrist": dict(zip(DOMAINS, (_X, _X, _X, _X), strict=True)),
    # The village's 精神卫生综合管理小组 liaisons: that a registered patient lives here and
    # the current risk level, nothing else, and no resident list.
    "zongzhi": dict(zip(DOMAINS, (_N, _N, _F, _N), strict=True)),
    "police": dict(zip(DOMAINS, (_N, _N, _F, _N), strict=True)),
    "civil_affairs": dict(zip(DOMAINS, (_N, _N, _F, _N), strict=True)),
    "disability_liaison": dict(zip(DOMAINS, (_N, _N, _F, _N), strict=True)),
    # sysadmins run the deployment; they get no person-level access from that role.
    "sysadmin": dict.fromkeys(DOMAINS, _N),
    "resident": dict.fromkeys(DOMAINS, _N),
}

# The screening column, for callers that predate domains.
ROLE_DETAIL = {role: row["screening"] for role, row in DETAIL.items()}


def role_detail(role: str, domain: str = "screening") -> Detail:
    if domain not in DOMAINS:
        raise ValueError(f"unknown detail domain {domain!r}; known: {', '.join(DOMAINS)}")
    return DETAIL.get(role, {}).get(domain, Detail.NONE)


def _reaches_anything(role: str) -> bool:
    return any(level > Detail.NONE for level in DETAIL.get(role, {}).values())


class ScopeError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Reach:
    """What one membership reaches: an area prefix or an institution, with its role."""

    role: str
    area_prefix: str | None = None
    institution_id: int | None = None

    @property
    def detail(self) -> Detail:
        """The role's detail in screening (the ladder that predates domains)."""
        return role_detail(self.role)

    def detail_in(self, domain: str) -> Detail:
        return role_detail(self.role, domain)


def reaches(user) -> list[Reach]:
    """The user's memberships whose role sees something of a person in some domain."""
    if not user.is_authenticated:
        return []
    cached = getattr(user, "_scope_reaches", None)
    if cached is not None:
        return cached
    result = []
    for m in user.active_memberships():
        if not _reaches_anything(m.role):
            continue
        if m.area_id:
            result.append(Reach(m.role, area_prefix=m.area.prefix))
        elif m.institution_id:
            result.append(Reach(m.role, institution_id=m.institution_id))
    user._scope_reaches = result
    return result


def _person_model():
    from xinan.people.models import Person

    return Person


def _path(person_path: str, lookup: str) -> str:
    return f"{person_path}__{lookup}" if person_path else lookup


class _Probe:
    """What the Python checks need to know about one person; each fact is read at most once,
    and only if a rule asks for it."""

    def __init__(self, user, person, now: dt.datetime | None = None):
        self.user, self.person, self.now = user, person, now or timezone.now()

    @functools.cached_property
    def institution_ids(self) -> set[int]:
        through = _person_model().institutions.through
        return set(
            through.objects.filter(person_id=self.person.pk).values_list(
                "institution_id", flat=True
            )
        )

    @functools.cached_property
    def grants(self) -> list[AccessGrant]:
        return list(
            AccessGrant.objects.active(self.now)
            .filter(_grantee_q(self.user), person_id=self.person.pk)
            .order_by("-created_at")
        )


def _user_institutions(user) -> list[int]:
    return [r.institution_id for r in reaches(user) if r.institution_id is not None]


def _grantee_q(user) -> Q:
    """Grants to the user, or to an institution where the user holds a role."""
    q = Q(to_user_id=user.pk)
    institutions = _user_institutions(user)
    if institutions:
        q |= Q(to_institution_id__in=institutions)
    return q


@dataclass(frozen=True)
class _AreaRule:
    """A role at an area reaches every person whose home lies under the area's prefix."""

    reach: Reach

    def q(self, user, person_path: str) -> Q:
        return Q(**{_path(person_path, "home_area__code__startswith"): self.reach.area_prefix})

    def admits(self, probe: _Probe) -> bool:
        return (probe.person.home_area_id or "").startswith(self.reach.area_prefix)

    def detail(self, probe: _Probe, domain: str) -> Detail:
        return self.reach.detail_in(domain)


@dataclass(frozen=True)
class _InstitutionRule:
    """A role at an institution reaches the institution's clients (`Person.institutions`)."""

    reach: Reach

    def q(self, user, person_path: str) -> Q:
        clients = (
            _person_model()
            .institutions.through.objects.filter(institution_id=self.reach.institution_id)
            .values("person_id")
        )
        return Q(**{_path(person_path, "pk__in"): clients})

    def admits(self, probe: _Probe) -> bool:
        return self.reach.institution_id in probe.institution_ids

    def detail(self, probe: _Probe, domain: str) -> Detail:
        return self.reach.detail_in(domain)


@dataclass(frozen=True)
class _GrantRule:
    """An active access grant to the user, or to an institution where the user holds a role,
    reaches its person. A grant to the user shows what the user's best role shows; a grant to
    an institution what the user's roles there show."""

    def q(self, user, person_path: str) -> Q:
        granted = AccessGrant.objects.active().filter(_grantee_q(user)).values("person_id")
        return Q(**{_path(person_path, "pk__in"): granted})

    def admits(self, probe: _Probe) -> bool:
        return bool(probe.grants)

    def detail(self, probe: _Probe, domain: str) -> Detail:
        best = Detail.NONE
        mine = reaches(probe.user)
        for grant in probe.grants:
            for reach in mine:
                if grant.to_user_id is not None or reach.institution_id == grant.to_institution_id:
                    best = max(best, reach.detail_in(domain))
        return best


_GRANTS = _GrantRule()


def _lists(reach: Reach, domain: str | None) -> bool:
    """Whether a membership reaches people for this purpose: in a domain, if its role sees
    anything there; for the record itself (no domain), if its role sees at least ATTENTION
    somewhere (a role that sees only a flag, as a police liaison in smd, lists no one)."""
    if domain is None:
        return any(level >= Detail.ATTENTION for level in DETAIL.get(reach.role, {}).values())
    return reach.detail_in(domain) > Detail.NONE


def _rules(user, *, domain: str | None = None, include_grants: bool = True) -> list:
    """The rules by which this user reaches people, cheapest check first."""
    if not user.is_authenticated:
        return []
    if domain is not None and domain not in DOMAINS:
        raise ValueError(f"unknown detail domain {domain!r}; known: {', '.join(DOMAINS)}")
    cache = user.__dict__.setdefault("_scope_rules", {})
    rules = cache.get(domain)
    if rules is None:
        mine = [r for r in reaches(user) if _lists(r, domain)]
        rules = [_AreaRule(r) for r in mine if r.area_prefix is not None]
        rules += [_InstitutionRule(r) for r in mine if r.institution_id is not None]
        cache[domain] = rules
    return [*rules, _GRANTS] if include_grants else rules


def persons(user, *, domain: str | None = None, include_grants: bool = True) -> QuerySet:
    """Every Person the user may list (in a domain: every person the user sees anything of
    there); empty for users without person-level roles."""
    Person = _person_model()
    return filter_related(
        user, Person.objects.all(), person_path="", domain=domain, include_grants=include_grants
    )


def filter_related(
    user,
    queryset: QuerySet,
    *,
    person_path: str = "person",
    domain: str | None = None,
    include_grants: bool = True,
) -> QuerySet:
    """Narrow any queryset of person-linked rows (assessments, alerts…) to the user's scope."""
    rules = _rules(user, domain=domain, include_grants=include_grants)
    if not rules:
        return queryset.none()
    q = Q(pk__in=[])
    for rule in rules:
        q |= rule.q(user, person_path)
    return queryset.filter(q)


def find_person(user, fields: tuple[str, ...] = ("pk", "name", "home_area_id"), **unique):
    """The person matching one unique lookup (e.g. `id_number_hash=…`) if the user may list
    them, else None: the same answer as `persons(user).filter(**unique)`.

    For entry paths that look people up one form at a time: one indexed fetch, then the
    rules' Python checks instead of building the scope query each time.
    """
    rules = _rules(user)
    if not rules:
        return None
    person = _fetch_one(_person_model(), fields, unique)
    if person is None:
        return None
    probe = _Probe(user, person)
    return person if any(rule.admits(probe) for rule in rules) else None


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


def detail_for(user, person, domain: str = "screening") -> Detail:
    """The most the user may see of this person in a domain ("screening", "crisis", "smd",
    "case_notes"): the best detail of the rules that reach the person."""
    if domain not in DOMAINS:
        raise ValueError(f"unknown detail domain {domain!r}; known: {', '.join(DOMAINS)}")
    probe = _Probe(user, person)
    # No rule gives more than the user's best role in the domain: stop once that is reached,
    # so a person in the user's own area costs no institution or grant query.
    ceiling = max((r.detail_in(domain) for r in reaches(user)), default=Detail.NONE)
    best = Detail.NONE
    for rule in _rules(user, domain=domain):
        if best >= ceiling:
            break
        if rule.admits(probe):
            best = max(best, rule.detail(probe, domain))
    return best


# --- Access grants -------------------------------------------------------------------------

# The audit actions of a grant's life. Break-the-glass keeps the names its log always had.
_OPEN_ACTION = {GrantKind.BREAK_GLASS: "core.break_glass.open"}
_REVOKE_ACTION = {GrantKind.BREAK_GLASS: "core.break_glass.revoke"}
audit.register_action("core.break_glass.open", gettext_lazy("紧急授权查看档案"))
audit.register_action("core.break_glass.review", gettext_lazy("审核紧急授权"))
audit.register_action("core.break_glass.revoke", gettext_lazy("撤销紧急授权"))
audit.register_action("core.access_grant.open", gettext_lazy("授予档案访问权限"))
audit.register_action("core.access_grant.revoke", gettext_lazy("撤销档案访问权限"))


def grant_access(
    person,
    *,
    to_user=None,
    to_institution: Institution | None = None,
    kind: str,
    reason: str,
    source: str,
    expires_at: dt.datetime | None,
    actor,
) -> AccessGrant:
    """Make one person visible to one user or to every user of one institution, for a reason,
    until `expires_at` (None: until revoked); audited. `source` names what the grant comes from,
    "<app>.<model>:<id>" (e.g. "cases.referral:42"). The caller has already decided that the
    grant is due (a referral accepted, a case assigned); this only refuses malformed grants.
    """
    reason = (reason or "").strip()
    if (to_user is None) == (to_institution is None):
        raise ScopeError(_("访问授权须指定一个用户或一个机构"))
    if kind not in GrantKind.values:
        raise ScopeError(_("未知的授权类型"))
    if not reason:
        raise ScopeError(_("请填写授权理由"))
    now = timezone.now()
    if expires_at is not None and expires_at <= now:
        raise ScopeError(_("授权到期时间须晚于现在"))
    with transaction.atomic():
        grant = AccessGrant.objects.create(
            person=person,
            to_user=to_user,
            to_institution=to_institution,
            kind=kind,
            reason=reason,
            source=source,
            created_at=now,
            created_by=actor,
            expires_at=expires_at,
            area_code=person.home_area_id or "",
        )
        audit.record(
            _OPEN_ACTION.get(kind, "core.access_grant.open"),
            person,
            actor=actor,
            changed_fields=[kind],
            reason=reason
            if kind == GrantKind.BREAK_GLASS
            else f"{source} → {grant.grantee}: {reason}",
        )
    return grant


def revoke_access(grant: AccessGrant, *, actor, reason: str) -> AccessGrant:
    """End a grant now, audited. Revoking a grant already ended (revoked or expired) changes
    nothing and writes nothing."""
    with transaction.atomic():
        grant = AccessGrant.objects.select_for_update().get(pk=grant.pk)
        if not grant.is_active():
            return grant
        grant.revoked_at = timezone.now()
        grant.revoked_by = actor
        grant.revoke_reason = (reason or "").strip()
        grant.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
        audit.record(
            _REVOKE_ACTION.get(grant.kind, "core.access_grant.revoke"),
            grant,
            actor=actor,
            changed_fields=[grant.kind],
            reason=grant.revoke_reason,
        )
    return grant


def grants_for(user, person, now: dt.datetime | None = None) -> list[AccessGrant]:
    """The active grants by which the user reaches this person (to them or their institution),
    newest first."""
    return _Probe(user, person, now).grants


def active_grant(
    user, person, now: dt.datetime | None = None, *, kind: str | None = GrantKind.BREAK_GLASS
) -> AccessGrant | None:
    """The user's newest active grant on this person of one kind (break-the-glass unless told;
    `kind=None`: any kind), or None."""
    return next((g for g in grants_for(user, person, now) if kind in (None, g.kind)), None)


def can_break_glass(user) -> bool:
    return user.is_authenticated and any(r.detail >= Detail.ATTENTION for r in reaches(user))


def break_glass(user, person_id, *, reason: str) -> AccessGrant:
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
    return grant_access(
        person,
        to_user=user,
        kind=GrantKind.BREAK_GLASS,
        reason=reason,
        source="people.search",
        expires_at=timezone.now() + dt.timedelta(hours=settings.BREAK_GLASS_HOURS),
        actor=user,
    )


# --- Rows placed by an area code (alerts, calls, campaigns, audit entries) ----------------


def role_prefixes(user, roles) -> list[str]:
    """Area prefixes where the user holds one of `roles`."""
    if not user.is_authenticated:
        return []
    return [m.area.prefix for m in user.active_memberships() if m.role in roles and m.area]


def admin_prefixes(user) -> list[str]:
    """Area prefixes where the user is an area admin (for review queues and the audit log)."""
    return role_prefixes(user, {"area_admin"})


def area_q(prefixes: list[str], field: str = "area_code") -> Q:
    q = Q(pk__in=[])
    for prefix in prefixes:
        q |= Q(**{f"{field}__startswith": prefix})
    return q


def within_role_areas(
    user,
    queryset: QuerySet,
    *,
    roles,
    field: str = "area_code",
    unplaced_up_to: int | None = None,
) -> QuerySet:
    """Rows whose area code (`field`) lies under an area where the user holds one of `roles`.
    With `unplaced_up_to`, a membership whose prefix is that long or shorter (e.g. a district)
    also sees rows with no area at all."""
    prefixes = role_prefixes(user, roles)
    if not prefixes:
        return queryset.none()
    q = area_q(prefixes, field)
    if unplaced_up_to is not None and any(len(p) <= unplaced_up_to for p in prefixes):
        q |= Q(**{field: ""})
    return queryset.filter(q)


def within_admin_areas(user, queryset: QuerySet, field: str = "area_code") -> QuerySet:
    return within_role_areas(user, queryset, roles={"area_admin"}, field=field)


def grants_in_admin_areas(user) -> QuerySet:
    """Access grants on people whose home lies in the user's area-admin areas (all states)."""
    return within_admin_areas(
        user, AccessGrant.objects.select_related("to_user", "to_institution", "person")
    )


def review_grant(user, grant_id, *, outcome: str, note: str = "") -> AccessGrant:
    """An area admin above the person's home marks a break-the-glass grant justified or not."""
    if outcome not in {"justified", "unjustified"}:
        raise ScopeError(_("请选择审核结论"))
    with transaction.atomic():
        try:
            grant = within_admin_areas(
                user, AccessGrant.objects.select_for_update().filter(kind=GrantKind.BREAK_GLASS)
            ).get(pk=grant_id)
        except (AccessGrant.DoesNotExist, ValueError):
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


def admin_revoke(user, grant_id, *, reason: str) -> AccessGrant:
    """An area admin above the person's home ends an active grant in their areas."""
    reason = (reason or "").strip()
    if not reason:
        raise ScopeError(_("请填写撤销理由"))
    try:
        grant = within_admin_areas(user, AccessGrant.objects.active()).get(pk=grant_id)
    except (AccessGrant.DoesNotExist, ValueError):
        raise Http404 from None
    return revoke_access(grant, actor=user, reason=reason)


def models_with_person_data() -> list[type[models.Model]]:
    """Person and every model that points at a person, directly or through another such model
    (an alert's events through the alert), in every installed app. Found from the models
    themselves, so an app added later is covered without being listed here."""
    from django.apps import apps

    found = [_person_model()]
    candidates = [m for m in apps.get_models() if m is not found[0]]
    grew = True
    while grew:
        grew = False
        for model in candidates:
            if model not in found and any(
                field.is_relation and not field.auto_created and field.related_model in found
                for field in model._meta.get_fields()
            ):
                found.append(model)
                grew = True
    return found
