"""Who sees what of the SMD registry: the gate's "smd" detail domain, and the registry's selectors.

Views get every SMD row from here (the selectors below), never from a model's manager.

- RECORD (the whole record: diagnosis, drugs, follow-ups, notes): roles whose detail in the
  gate's smd column (`scope.DETAIL`) is SCORES or more — 精防医生 and 精神科医生 — through the
  gate's rules: a role at an area reaches the residents under it; a role at an institution its
  clients (a registered patient is a client of the managing CHC); an access grant its person.
- FLAG (that a patient exists, their current risk and whether it is ≥ 3级; nothing clinical):
  roles with FLAG or ATTENTION in the smd column (grid workers, area admins, social workers,
  counsellors, crisis workers), and the village team's liaison roles (综治, 公安, 民政, 残联) at
  their area. The liaison roles are kept out of the gate's table on purpose: a row there would
  also open the general resident list (`scope.persons`) to them; here they see the SMD flag list
  and nothing else.
- Territorial (registration and the new-diagnosis queue only): a doctor at a community health
  centre registers residents of the centre's town who are not yet its clients.
"""

import enum
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.http import Http404

from xinan.accounts.models import Role
from xinan.core import scope
from xinan.core.lib import crypto
from xinan.core.models import AccessGrant, InstitutionKind

DOMAIN = "smd"


class SmdDetail(enum.IntEnum):
    NONE = 0
    FLAG = 1
    RECORD = 2


def _from_gate(level: scope.Detail) -> SmdDetail:
    if level >= scope.Detail.SCORES:
        return SmdDetail.RECORD
    if level >= scope.Detail.FLAG:
        return SmdDetail.FLAG
    return SmdDetail.NONE


_GATE_LEVEL = {SmdDetail.RECORD: scope.Detail.SCORES, SmdDetail.FLAG: scope.Detail.FLAG}
LIAISON_ROLES = frozenset({Role.ZONGZHI, Role.POLICE, Role.CIVIL_AFFAIRS, Role.DISABILITY_LIAISON})
# Institutions whose doctors serve the area the institution sits in.
TERRITORIAL_KINDS = frozenset({InstitutionKind.CHC, InstitutionKind.MENTAL_HEALTH_CENTRE})


@dataclass
class SmdReach:
    record_prefixes: list[str] = field(default_factory=list)  # territorial service areas
    flag_prefixes: list[str] = field(default_factory=list)  # liaison roles' areas


def reach(user) -> SmdReach:
    if not user.is_authenticated:
        return SmdReach()
    cached = getattr(user, "_smd_reach", None)
    if cached is not None:
        return cached
    result = SmdReach()
    for m in user.active_memberships():
        if scope.role_detail(m.role, DOMAIN) >= scope.Detail.SCORES:
            if m.area_id:
                result.record_prefixes.append(m.area.prefix)
            elif m.institution_id and m.institution.kind in TERRITORIAL_KINDS:
                result.record_prefixes.append(m.institution.area.prefix)
        elif m.role in LIAISON_ROLES and m.area_id:
            result.flag_prefixes.append(m.area.prefix)
    user._smd_reach = result
    return result


def _prefix_q(prefixes: list[str], path: str) -> Q:
    q = Q(pk__in=[])
    for prefix in prefixes:
        q |= Q(**{f"{path}__startswith": prefix})
    return q


def _domain_q(user, need: SmdDetail, person: str) -> Q:
    """The gate's rules (area, institution, grant) restricted to roles that see `need` in smd."""
    from xinan.people.models import Person

    level = _GATE_LEVEL[need]
    q = Q(pk__in=[])
    mine = [r for r in scope.reaches(user) if r.detail_in(DOMAIN) >= level]
    for r in mine:
        if r.area_prefix is not None:
            q |= Q(**{f"{person}__home_area__code__startswith": r.area_prefix})
        else:
            clients = Person.institutions.through.objects.filter(institution_id=r.institution_id)
            q |= Q(**{f"{person}__pk__in": clients.values("person_id")})
    if mine:
        institutions = [r.institution_id for r in mine if r.institution_id is not None]
        granted = AccessGrant.objects.active().filter(
            Q(to_user=user) | Q(to_institution_id__in=institutions)
        )
        q |= Q(**{f"{person}__pk__in": granted.values("person_id")})
    if need <= SmdDetail.FLAG:
        q |= _prefix_q(reach(user).flag_prefixes, f"{person}__home_area__code")
    return q


def patients(user, *, need: SmdDetail = SmdDetail.RECORD) -> QuerySet:
    """Patients the user sees at `need` or more."""
    from xinan.smd.models import Patient

    if not user.is_authenticated:
        return Patient.objects.none()
    return Patient.objects.filter(_domain_q(user, need, "person"))


def related(user, queryset: QuerySet, *, path: str = "patient") -> QuerySet:
    """Narrow follow-ups, emergencies… to patients the user sees in full."""
    if not user.is_authenticated:
        return queryset.none()
    return queryset.filter(_domain_q(user, SmdDetail.RECORD, f"{path}__person"))


def follow_ups(user) -> QuerySet:
    from xinan.smd.models import FollowUp

    return related(user, FollowUp.objects.select_related("patient__person__home_area", "doctor"))


def emergencies(user) -> QuerySet:
    from xinan.smd.models import Emergency

    return related(user, Emergency.objects.select_related("patient"))


def reports(user) -> QuerySet:
    """New-diagnosis reports for residents of the user's service area (territorial)."""
    from xinan.smd.models import DiagnosisReport

    return DiagnosisReport.objects.filter(
        _prefix_q(reach(user).record_prefixes, "person__home_area__code")
    )


def alerts_of(patient) -> QuerySet:
    """Crisis alerts about this patient (the caller has already opened the patient's record)."""
    from xinan.crisis.models import Alert

    return Alert.objects.filter(person_id=patient.person_id)


def detail(user, patient) -> SmdDetail:
    best = _from_gate(scope.detail_for(user, patient.person, domain=DOMAIN))
    if best == SmdDetail.NONE and any(
        patient.person.home_area_id.startswith(p) for p in reach(user).flag_prefixes
    ):
        return SmdDetail.FLAG
    return best


def get_patient(user, pk, *, need: SmdDetail = SmdDetail.RECORD):
    """The patient if the user sees them at `need`, else Http404 (missing looks the same)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    from xinan.smd.models import Patient

    try:
        return (
            patients(user, need=need)
            .select_related("person__home_area", "managing_institution")
            .get(pk=pk)
        )
    except Patient.DoesNotExist:
        raise Http404 from None


def can_record(user) -> bool:
    return user.is_authenticated and (
        any(r.detail_in(DOMAIN) >= scope.Detail.SCORES for r in scope.reaches(user))
    )


def can_flag(user) -> bool:
    if not user.is_authenticated:
        return False
    return bool(reach(user).flag_prefixes) or any(
        r.detail_in(DOMAIN) >= scope.Detail.FLAG for r in scope.reaches(user)
    )


def in_service_area(user, area_code: str) -> bool:
    return any(area_code.startswith(p) for p in reach(user).record_prefixes)


def find_person_to_register(user, id_number: str):
    """The resident with this ID number living in the user's service area, else None.

    A CHC doctor registers residents of the CHC's town who are not yet its clients, so the
    lookup is by the service area; a psychiatrist's area membership gives the same.
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
