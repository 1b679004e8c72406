"""Resident record verbs. Every write is one transaction with its audit row."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinan.core import audit, scope
from xinan.core.lib import areacode, crypto, idnumber
from xinan.core.lib import phone as phone_lib
from xinan.core.models import Area
from xinan.people.models import Consent, Person, PopulationTag

BREAK_GLASS_SALT = "xinan.people.break_glass"
# The least detail at which a role reads a record's full ID number and phone (counsellors,
# doctors, crisis workers, psychiatrists); below it (grid and social workers, area admins) they
# are masked everywhere, the edit form included.
IDENTIFIERS_DETAIL = scope.Detail.SCORES

for _code, _label in {
    "people.person.create": gettext_lazy("新建居民档案"),
    "people.person.update": gettext_lazy("修改居民档案"),
    "people.person.view": gettext_lazy("查看居民档案"),
    "people.person.edit_form": gettext_lazy("打开居民档案编辑"),
    "people.person.tag_list": gettext_lazy("按人群标签查看居民名单"),
    "people.person.attention_list": gettext_lazy("查看需关注居民名单"),
    "people.person.id_search": gettext_lazy("按身份证号查找居民"),
    "people.consent.record": gettext_lazy("记录知情同意"),
    "people.break_glass.no_match": gettext_lazy("申请紧急授权（查无此号）"),
}.items():
    audit.register_action(_code, _label)


def may_read_identifiers(user, person: Person) -> bool:
    return scope.detail_for(user, person) >= IDENTIFIERS_DETAIL


class PersonError(Exception):
    def __init__(self, message: str, *, field: str | None = None, existing: Person | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.existing = existing


@dataclass(frozen=True)
class PersonData:
    name: str
    gender: str
    home_area: Area
    birth_date: dt.date | None = None
    id_number: str = ""
    phone: str = ""
    address: str = ""
    notes: str = ""
    needs_attention: bool = False
    tags: tuple[PopulationTag, ...] = ()


def _normalise(data: PersonData) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": data.name.strip(),
        "gender": data.gender,
        "home_area": data.home_area,
        "birth_date": data.birth_date,
        "address": data.address,
        "notes": data.notes,
        "needs_attention": data.needs_attention,
    }
    if not values["name"]:
        raise PersonError(_("姓名不能为空"), field="name")
    if data.home_area.level not in ("village", "grid"):
        raise PersonError(_("居住地应选择到村居或网格"), field="home_area")
    if data.id_number:
        try:
            number = idnumber.validate(data.id_number)
        except idnumber.InvalidIdNumber as exc:
            raise PersonError(str(exc), field="id_number") from None
        values.update(
            id_number=number,
            id_number_hash=crypto.lookup_hash(number),
            id_number_masked=idnumber.mask(number),
        )
        values["birth_date"] = values["birth_date"] or idnumber.birth_date(number)
        if idnumber.birth_date(number) != values["birth_date"]:
            raise PersonError(_("出生日期与身份证号不一致"), field="birth_date")
    else:
        values.update(id_number="", id_number_hash=None, id_number_masked="")
    if data.phone:
        try:
            number = phone_lib.validate(data.phone)
        except phone_lib.InvalidPhone as exc:
            raise PersonError(str(exc), field="phone") from None
        values.update(
            phone=number, phone_hash=crypto.lookup_hash(number), phone_masked=phone_lib.mask(number)
        )
    else:
        values.update(phone="", phone_hash="", phone_masked="")
    return values


def _refuse_duplicate(actor, id_hash: str | None, exclude_pk: int | None = None) -> None:
    if not id_hash:
        return
    other = Person.objects.filter(id_number_hash=id_hash).exclude(pk=exclude_pk).first()
    if other is None:
        return
    visible = scope.persons(actor).filter(pk=other.pk).exists()
    raise PersonError(
        _("该身份证号已有档案") if visible else _("该身份证号已有档案，但不在您的管辖范围内"),
        field="id_number",
        existing=other if visible else None,
    )


def create_person(data: PersonData, *, actor) -> Person:
    values = _normalise(data)
    if not any(data.home_area.code.startswith(r.area_prefix or "-") for r in scope.reaches(actor)):
        raise PersonError(_("只能在您的管辖范围内建档"), field="home_area")
    _refuse_duplicate(actor, values["id_number_hash"])
    try:
        with transaction.atomic():
            person = Person.objects.create(**values)
            person.tags.set(data.tags)
            audit.record(
                "people.person.create",
                person,
                actor=actor,
                changed_fields=[k for k, v in values.items() if v not in ("", None)] + ["tags"],
            )
    except IntegrityError:  # a concurrent create with the same ID number won the race
        _refuse_duplicate(actor, values["id_number_hash"])
        raise
    return person


def update_person(person: Person, data: PersonData, *, actor) -> list[str]:
    """Apply the changes; returns the names of the fields that changed."""
    values = _normalise(data)
    in_reach = any(
        data.home_area.code.startswith(r.area_prefix or "-") for r in scope.reaches(actor)
    )
    if not in_reach and data.home_area.code != person.home_area_id:
        raise PersonError(_("只能迁入您的管辖范围内的地区"), field="home_area")
    _refuse_duplicate(actor, values["id_number_hash"], exclude_pk=person.pk)
    changed = audit.changed(person, values)
    old_tags = set(person.tags.values_list("pk", flat=True))
    new_tags = {t.pk for t in data.tags}
    if old_tags != new_tags:
        changed.append("tags")
    if not changed:
        return []
    with transaction.atomic():
        for name, value in values.items():
            setattr(person, name, value)
        person.save()
        person.tags.set(data.tags)
        audit.record("people.person.update", person, actor=actor, changed_fields=changed)
    return changed


def open_person(user, pk) -> tuple[Person, scope.Detail]:
    """The record as the user may see it; logs the view."""
    person = scope.get_person(user, pk)
    detail = scope.detail_for(user, person)
    grant = scope.active_grant(user, person) if detail else None
    audit.record(
        "people.person.view",
        person,
        actor=user,
        reason=_("紧急授权：%(reason)s") % {"reason": grant.reason} if grant else "",
    )
    return person, detail


def search(
    user, query: str = "", *, tag: str = "", area_code: str = "", attention: bool = False
) -> QuerySet:
    """People in scope matching a name fragment, an exact ID number or an exact phone; with
    `attention`, only those flagged 需关注."""
    qs = scope.persons(user).select_related("home_area")
    query = (query or "").strip()
    if query:
        normalised = idnumber.normalize(query)
        if len(normalised) == 18:
            qs = qs.filter(id_number_hash=crypto.lookup_hash(normalised))
        elif query.isdigit() and len(query) >= 7:
            try:
                qs = qs.filter(phone_hash=crypto.lookup_hash(phone_lib.validate(query)))
            except phone_lib.InvalidPhone:
                qs = qs.none()
        else:
            qs = qs.filter(name__contains=query)
    if tag:
        qs = qs.filter(tags__code=tag)
    if attention:
        qs = qs.filter(needs_attention=True)
    if area_code and area_code.isdigit():
        qs = qs.filter(home_area__code__startswith=areacode.significant(area_code))
    return qs


def record_edit_opened(user, person: Person) -> None:
    """Opening the edit form shows the record's identifiers (at the user's level): logged."""
    audit.record("people.person.edit_form", person, actor=user)


def record_list_viewed(user, *, query: str, tag: str, page, attention: bool = False) -> None:
    """A list by population tag (HIV, drug use, …), the list of those flagged 需关注, or a
    search by exact ID number says who belongs where: each is logged, once per page shown
    (the ID number masked)."""
    if attention:
        audit.record(
            "people.person.attention_list",
            actor=user,
            object_type="people.person",
            reason=_("第 %(n)d 页，%(count)d 人")
            % {"n": page.number, "count": page.paginator.count},
        )
    if tag:
        audit.record(
            "people.person.tag_list",
            actor=user,
            object_type="people.populationtag",
            object_id=tag[:64],
            reason=_("第 %(n)d 页，%(count)d 人")
            % {"n": page.number, "count": page.paginator.count},
        )
    number = idnumber.normalize(query or "")
    if len(number) == 18:
        found = page.object_list[0] if page.paginator.count == 1 else None
        audit.record(
            "people.person.id_search",
            found,
            actor=user,
            object_type="people.person",
            reason=idnumber.mask(number),
        )


def outside_scope_match(user, query: str) -> str | None:
    """A signed token for break-the-glass after an exact ID-number search found no one in the
    user's scope, whether or not the number exists elsewhere: the answer is the same, so the
    search does not reveal that a person lives in another town. Only asking for emergency
    access, with a reason, audited and reviewed, finds out.
    """
    normalised = idnumber.normalize(query or "")
    if len(normalised) != 18 or not scope.can_break_glass(user):
        return None
    try:
        normalised = idnumber.validate(normalised)
    except idnumber.InvalidIdNumber:
        return None
    return signing.dumps({"id_hash": crypto.lookup_hash(normalised)}, salt=BREAK_GLASS_SALT)


def break_glass(user, token: str, *, reason: str):
    try:
        signed = signing.loads(token, salt=BREAK_GLASS_SALT, max_age=3600)
    except signing.BadSignature:
        raise PersonError(_("紧急授权请求已失效，请重新搜索")) from None
    if not isinstance(signed, dict) or "id_hash" not in signed:
        raise PersonError(_("紧急授权请求已失效，请重新搜索"))
    if len((reason or "").strip()) < 10:
        raise PersonError(_("请填写至少10个字的紧急理由"), field="reason")
    # scope: the break-glass grant itself is the gate; this only turns the number into an id.
    person_id = (
        Person.objects.filter(id_number_hash=signed["id_hash"]).values_list("pk", flat=True).first()
    )
    if person_id is None:
        audit.record(
            "people.break_glass.no_match", actor=user, object_type="people.person", reason=reason
        )
        raise PersonError(_("没有该身份证号的档案，请核对号码或先建档"))
    try:
        return scope.break_glass(user, person_id, reason=reason)
    except scope.ScopeError as exc:
        raise PersonError(exc.message, field="reason") from None


def record_consent(person: Person, *, kind: str, granted: bool, actor) -> Consent:
    with transaction.atomic():
        consent = Consent.objects.create(
            person=person, kind=kind, granted=granted, recorded_by=actor
        )
        audit.record("people.consent.record", person, actor=actor, changed_fields=[kind])
    return consent
