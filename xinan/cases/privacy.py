"""The cases app's part of a person's data export and erasure (xinan/core/privacy.py): cases
with their stage history, tasks, interventions, referrals and follow-ups; no erasure while a
case about the person is open."""

from django.utils.translation import gettext as _

from xinan.cases.models import Case, CaseEvent, FollowUp, Intervention, Referral, Task
from xinan.core import privacy
from xinan.core.lib import jsonsafe

CASE_FIELDS = [
    "id",
    "line",
    "stage",
    "priority",
    "source",
    "area_code",
    "opened_at",
    "first_contact_at",
    "first_intervention_at",
    "judgement",
    "judgement_basis",
    "identified_at",
    "lost_to_follow_up",
    "closed_at",
    "close_reason",
    "outcome",
    "close_note",
]
REFERRAL_FIELDS = [
    "id",
    "case_id",
    "direction",
    "from_institution_id",
    "to_institution_id",
    "urgency",
    "reason",
    "notes",
    "assessment_ids",
    "legal_basis",
    "status",
    "sent_at",
    "answer_due_at",
    "answered_at",
    "decline_reason",
    "completed_at",
    "diagnosis_summary",
    "treatment_plan",
    "recommended_follow_up",
]


@privacy.blocker("cases")
def open_cases(person) -> str | None:
    n = Case.objects.filter(person=person).open().count()
    if n:
        return _("该居民有 %(n)d 个未结案的个案，须先结案后才能删除") % {"n": n}
    return None


@privacy.exporter("cases")
def export_person(person) -> dict:
    cases = Case.objects.filter(person=person).prefetch_related("events").order_by("opened_at")
    return {
        "cases": [
            {
                **jsonsafe.rows([c], CASE_FIELDS)[0],
                "history": jsonsafe.rows(
                    c.events.all(), ["kind", "from_stage", "to_stage", "at", "note"]
                ),
            }
            for c in cases
        ],
        "tasks": jsonsafe.rows(
            Task.objects.filter(person=person).order_by("created_at"),
            ["case_id", "kind", "title", "due_at", "status", "created_at", "done_at", "result"],
        ),
        "interventions": jsonsafe.rows(
            Intervention.objects.filter(person=person).order_by("started_at"),
            [
                "case_id",
                "kind",
                "started_at",
                "minutes",
                "site_id",
                "service_site_id",
                "online",
                "notes",
            ],
        ),
        "referrals": jsonsafe.rows(
            Referral.objects.filter(person=person).order_by("sent_at"), REFERRAL_FIELDS
        ),
        "follow_ups": jsonsafe.rows(
            FollowUp.objects.filter(person=person).order_by("due_at"),
            ["case_id", "instrument", "due_at", "mode", "status", "assessment_id", "done_at"],
        ),
    }


@privacy.eraser("cases")
def erase_person(person, *, actor) -> None:
    """Lines, stages and their dates, priorities, outcomes, kinds, minutes, directions and
    statuses stay for the counts; judgements, notes, reasons, summaries and the free text of
    tasks and the stage history go. A follow-up's personal link stops working."""
    Case.objects.filter(person=person).update(judgement="", judgement_basis="", close_note="")
    CaseEvent.objects.filter(case__person=person).update(note="")
    Task.objects.filter(person=person).update(title=_("（已删除）"), result="")
    Intervention.objects.filter(person=person).update(notes="")
    Referral.objects.filter(person=person).update(
        reason="",
        notes="",
        legal_basis="",
        decline_reason="",
        diagnosis_summary="",
        treatment_plan="",
        recommended_follow_up="",
    )
    FollowUp.objects.filter(person=person).update(token=None)
