"""Who sees what of the SMD registry: the registry's own detail domain.

Interim: the `gate` helper is adding `scope.detail_for(user, person, domain="smd")`; until it
is on main this module decides, from the user's memberships, and is the only place that does.
Switch `detail` and `patients` to the gate's domain table once it lands.

- RECORD (the whole record: diagnosis, drugs, follow-ups, notes): 精防医生 and 精神科医生 at an
  area, or at a community health centre / mental health centre (whose area they serve — the
  registry is territorial: a CHC manages the patients living in its town), and the managing
  CHC's doctors wherever the patient lives.
- FLAG (that a patient exists, the current risk and whether it is ≥ 3级; nothing clinical):
  grid workers and the village's 精神卫生综合管理小组 liaison roles (综治, 公安, 民政, 残联).
- NONE: everyone else (area admins see the indicators' aggregates only).
"""

import enum
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.http import Http404

from xinan.accounts.models import Role
from xinan.core.lib import crypto
from xinan.core.models import InstitutionKind


class SmdDetail(enum.IntEnum):
    NONE = 0
    FLAG = 1
    RECORD = 2


RECORD_ROLES = frozenset({Role.DOCTOR, Role.PSYCHIATRIST})
FLAG_ROLES = frozenset(
    {Role.GRID_WORKER, Role.ZONGZHI, Role.POLICE, Role.CIVIL_AFFAIRS, Role.DISABILITY_LIAISON}
)
# Institutions whose doctors serve the area the institution sits in.
TERRITORIAL_KINDS = frozenset({InstitutionKind.CHC, InstitutionKind.MENTAL_HEALTH_CENTRE})


@dataclass
class SmdReach:
    record_prefixes: list[str] = field(default_factory=list)
    record_institutions: list[int] = field(default_factory=list)
    flag_prefixes: list[str] = field(default_factory=list)


def reach(user) -> SmdReach:
    if not user.is_authenticated:
        return SmdReach()
    cached = getattr(user, "_smd_reach", None)
    if cached is not None:
        return cached
    result = SmdReach()
    for m in user.active_memberships():
        if m.role in RECORD_ROLES:
            if m.area_id:
                result.record_prefixes.append(m.area.prefix)
            elif m.institution_id:
                result.record_institutions.append(m.institution_id)
                if m.institution.kind in TERRITORIAL_KINDS:
                    result.record_prefixes.append(m.institution.area.prefix)
        elif m.role in FLAG_ROLES and m.area_id:
            result.flag_prefixes.append(m.area.prefix)
    user._smd_reach = result
    return result


def _prefix_q(prefixes: list[str], path: str) -> Q:
    q = Q(pk__in=[])
    for prefix in prefixes:
        q |= Q(**{f"{path}__startswith": prefix})
    return q


def patients(user, *, need: SmdDetail = SmdDetail.RECORD) -> QuerySet:
    """Patients the user sees at `need` or more."""
    from xinan.smd.models import Patient

    r = reach(user)
    q = _prefix_q(r.record_prefixes, "person__home_area__code")
    if r.record_institutions:
        q |= Q(managing_institution_id__in=r.record_institutions)
    if need <= SmdDetail.FLAG:
        q |= _prefix_q(r.flag_prefixes, "person__home_area__code")
    return Patient.objects.filter(q)


def related(user, queryset: QuerySet, *, path: str = "patient") -> QuerySet:
    """Narrow follow-ups, emergencies, reports… to patients the user sees in full."""
    r = reach(user)
    q = _prefix_q(r.record_prefixes, f"{path}__person__home_area__code")
    if r.record_institutions:
        q |= Q(**{f"{path}__managing_institution_id__in": r.record_institutions})
    return queryset.filter(q)


def reports(user) -> QuerySet:
    """New-diagnosis reports for residents of the user's service area (territorial)."""
    from xinan.smd.models import DiagnosisReport

    return DiagnosisReport.objects.filter(
        _prefix_q(reach(user).record_prefixes, "person__home_area__code")
    )


def detail(user, patient) -> SmdDetail:
    r = reach(user)
    area = patient.person.home_area_id
    if any(area.startswith(p) for p in r.record_prefixes):
        return SmdDetail.RECORD
    if patient.managing_institution_id in r.record_institutions:
        return SmdDetail.RECORD
    if any(area.startswith(p) for p in r.flag_prefixes):
        return SmdDetail.FLAG
    return SmdDetail.NONE


def get_patient(user, pk, *, need: SmdDetail = SmdDetail.RECORD):
    """The patient if the user sees them at `need`, else Http404 (missing looks the same)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    from xinan.smd.models import Patient

    try:
        patient = Patient.objects.select_related("person__home_area", "managing_institution").get(
            pk=pk
        )
    except Patient.DoesNotExist:
        raise Http404 from None
    if detail(user, patient) < need:
        raise Http404
    return patient


def can_record(user) -> bool:
    r = reach(user)
    return bool(r.record_prefixes or r.record_institutions)


def can_flag(user) -> bool:
    return can_record(user) or bool(reach(user).flag_prefixes)


def in_service_area(user, area_code: str) -> bool:
    return any(area_code.startswith(p) for p in reach(user).record_prefixes)


def find_person_to_register(user, id_number: str):
    """The resident with this ID number living in the user's service area, else None.

    A CHC doctor registers residents of the CHC's town who are not yet its clients, so the
    lookup is by the service area, not by the core gate's client list.
    """
    from xinan.people.models import Person

    person = (
        Person.objects.select_related("home_area")
        .filter(id_number_hash=crypto.lookup_hash(id_number))
        .first()
    )
    if person is None or not in_service_area(user, person.home_area_id):
        return None
    return person
