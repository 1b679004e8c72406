"""A person's data export and erasure on request (PIPL), for an area admin of the person's
home, with a reason; both audited. The apps' parts come from the registry in
xinan/core/privacy.py."""

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinan.core import audit, privacy, scope
from xinan.people.models import Person
from xinan.people.services import PersonError

EXPORT_ACTION = "people.person.export"
ERASE_ACTION = "people.person.erase"
audit.register_action(EXPORT_ACTION, gettext_lazy("导出居民个人信息"))
audit.register_action(ERASE_ACTION, gettext_lazy("删除居民个人信息"))
MIN_REASON = 5


def may_handle(user, person: Person) -> bool:
    """Area admins of the person's home (a town's or the district's) take these requests."""
    return any((person.home_area_id or "").startswith(p) for p in scope.admin_prefixes(user))


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise PersonError(
            _("请写明申请依据（至少%(n)d个字），例如“本人书面申请，2026-12-01受理”")
            % {"n": MIN_REASON},
            field="reason",
        )
    return reason


def blocks(person: Person) -> list[str]:
    """Why the person's data cannot be erased now (open alerts, open cases…), in Chinese."""
    return [m for check in privacy.blockers().values() if (m := check(person))]


def export_person(person: Person, *, actor, reason: str) -> dict[str, Any]:
    """Everything the apps hold about the person, as one JSON-safe document; audited."""
    if not may_handle(actor, person):
        raise PersonError(_("只有居民所在地区的管理员可以办理个人信息导出"))
    reason = _reason(reason)
    document = {
        "person_id": person.pk,
        "exported_at": timezone.now().isoformat(),
        "exported_by": actor.get_username(),
        "reason": reason,
        "data": {app: export(person) for app, export in privacy.exporters().items()},
    }
    with transaction.atomic():
        audit.record(
            EXPORT_ACTION,
            person,
            actor=actor,
            changed_fields=sorted(document["data"]),
            reason=reason,
        )
    return document


def erase_person(person: Person, *, actor, reason: str) -> Person:
    """Remove or irreversibly anonymise the person's data in every app, in one transaction;
    refused while any app has open work about them. The audit log keeps its entries (by id)."""
    if not may_handle(actor, person):
        raise PersonError(_("只有居民所在地区的管理员可以办理个人信息删除"))
    reason = _reason(reason)
    with transaction.atomic():
        locked = Person.objects.select_for_update().get(pk=person.pk)  # scope: checked above
        if locked.erased_at:
            raise PersonError(_("该居民的个人信息已于%(at)s删除") % {"at": locked.erased_at.date()})
        refused = blocks(locked)
        if refused:
            raise PersonError("；".join(refused))
        area = locked.home_area_id
        for erase in privacy.erasers().values():
            erase(locked, actor=actor)
        audit.record(
            ERASE_ACTION,
            locked,
            actor=actor,
            area_code=area,
            changed_fields=sorted(privacy.erasers()),
            reason=reason,
        )
    return locked
