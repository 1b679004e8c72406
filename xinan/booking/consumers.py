"""Vouchers by rule: a positive screen of a resident in a rule's target population."""

from django.utils import timezone

from xinan.booking import vouchers
from xinan.booking.errors import BookingError
from xinan.booking.models import Voucher, VoucherRule
from xinan.core.events import Event, consumer


def matching_rule(person, area_code: str, today) -> VoucherRule | None:
    tags = set(person.tags.values_list("code", flat=True))
    rules = VoucherRule.objects.filter(
        active=True, budget__period_start__lte=today, budget__period_end__gte=today
    ).select_related("budget__area", "tag")
    for rule in sorted(rules, key=lambda r: -len(r.budget.area.prefix)):  # nearest area first
        if not area_code.startswith(rule.budget.area.prefix):
            continue
        if rule.tag_id is None or rule.tag_id in tags:
            return rule
    return None


@consumer("assessment.scored", name="booking.voucher_for_positive_screen")
def voucher_for_positive_screen(event: Event) -> None:
    p = event.payload
    if not p.get("positive") or not p.get("person_id"):
        return
    if Voucher.objects.filter(source_event_id=event.id).exists():
        return  # delivered before
    from xinan.people.models import Person

    # Only what a voucher reads (its tags and home area): nothing encrypted is decrypted.
    person = Person.objects.filter(pk=p["person_id"]).only("id", "home_area_id").first()
    if person is None:
        return
    rule = matching_rule(person, person.home_area_id, timezone.localdate())
    if rule is None:
        return
    try:
        vouchers.issue(
            person,
            budget=rule.budget,
            value_cents=rule.value_cents,
            valid_days=rule.valid_days,
            services=rule.services,
            actor=None,
            rule=rule,
            source_event_id=event.id,
        )
    except BookingError:
        return  # budget exhausted or out of period: no voucher, nothing to retry
