"""The people app's part of a person's data export and erasure (xinan/core/privacy.py): the
record itself, its tags, consents and access grants, and the resident account linked to it."""

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from xinan.core import privacy
from xinan.core.lib import jsonsafe
from xinan.core.models import AccessGrant

PERSON_FIELDS = [
    "id",
    "name",
    "gender",
    "birth_date",
    "id_number",
    "phone",
    "home_area_id",
    "address",
    "needs_attention",
    "notes",
    "created_at",
    "updated_at",
]


@privacy.exporter("people")
def export_person(person) -> dict:
    user = person.user
    return {
        "record": jsonsafe.rows([person], PERSON_FIELDS)[0],
        "tags": [t.name for t in person.tags.all()],
        "institutions": [i.name for i in person.institutions.all()],
        "consents": jsonsafe.rows(
            person.consents.all(), ["kind", "granted", "text_version", "recorded_at"]
        ),
        "access_grants": jsonsafe.rows(
            AccessGrant.objects.filter(person=person).select_related("to_user"),
            ["kind", "created_at", "expires_at", "revoked_at", "to_user_id", "to_institution_id"],
        ),
        "account": jsonsafe.rows([user], ["username", "phone", "date_joined", "last_login"])[0]
        if user
        else None,
    }


@privacy.eraser("people")
def erase_person(person, *, actor) -> None:
    """Identifiers and free text go; gender, birth year, home area and tags stay for the counts
    (they no longer point at anyone). A resident account is anonymised and closed; a staff
    member's own account is only unlinked."""
    user = person.user
    if user is not None:
        _erase_account(user)
    person.name = _("（已删除）")
    person.id_number, person.id_number_hash, person.id_number_masked = "", None, ""
    person.phone, person.phone_hash, person.phone_masked = "", "", ""
    person.address = person.notes = ""
    if person.birth_date:
        person.birth_date = dt.date(person.birth_date.year, 1, 1)
    person.needs_attention = False
    person.user = None
    person.erased_at = timezone.now()
    person.save()


def _erase_account(user) -> None:
    if user.memberships.filter(active=True).exists():
        return  # a staff member's account: their work stays theirs
    user.username = f"erased-{user.pk}"
    user.set_phone("")
    user.display_name = user.first_name = user.last_name = user.email = ""
    user.is_active = False
    user.set_unusable_password()
    user.save()
