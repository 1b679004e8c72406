"""The screening app's part of a person's data export and erasure (xinan/core/privacy.py)."""

import secrets

from xinan.core import privacy
from xinan.core.lib import jsonsafe
from xinan.screening.models import Assessment, CampaignInvitation

ASSESSMENT_FIELDS = [
    "id",
    "instrument",
    "version",
    "submitted_at",
    "mode",
    "answers",
    "total",
    "band",
    "band_label",
    "positive",
    "critical",
    "subscales",
    "site",
    "area_code",
]


@privacy.exporter("screening")
def export_person(person) -> dict:
    invitations = CampaignInvitation.objects.filter(person=person).select_related("campaign")
    return {
        "assessments": jsonsafe.rows(
            Assessment.objects.filter(person=person).order_by("submitted_at"), ASSESSMENT_FIELDS
        ),
        "invitations": [
            {
                "campaign": i.campaign.name,
                "issued_at": jsonsafe.value(i.issued_at),
                "completed_at": jsonsafe.value(i.completed_at),
            }
            for i in invitations
        ],
    }


@privacy.eraser("screening")
def erase_person(person, *, actor) -> None:
    """Scores, bands, dates and areas stay for the counts; the place written by hand goes, and
    so does the idempotency key (a hash of the ID number's hash: it would link the row back).
    Personal invitation links stop working."""
    Assessment.objects.filter(person=person).update(site="", idempotency_key=None)
    for invitation in CampaignInvitation.objects.filter(person=person):
        invitation.token = secrets.token_urlsafe(16)
        invitation.save(update_fields=["token"])
