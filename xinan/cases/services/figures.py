"""Loop figures for an area and period: how fast positive screens are contacted, how many reach
an intervention, how referrals are answered and completed, how many are lost to follow-up."""

import datetime as dt
import statistics
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from xinan.cases.models import Case, CaseSource, Referral, ReferralStatus, TaskRule, Trigger
from xinan.core.models import Area, AreaLevel


@dataclass
class Figures:
    area: Area
    screens: int = 0  # cases opened from a positive screen
    contacted: int = 0
    contact_hours_median: float | None = None
    within_rule: int = 0
    reached_intervention: int = 0
    referrals: int = 0
    accepted: int = 0
    declined: int = 0
    completed: int = 0
    answer_hours_median: float | None = None
    completion_days_median: float | None = None
    followed: int = 0  # cases that had follow-ups scheduled
    lost: int = 0
    hidden: set[str] = field(default_factory=set)

    def share(self, part: str, whole: str) -> float | None:
        n, d = getattr(self, part), getattr(self, whole)
        return None if not d else round(100 * n / d, 1)

    @property
    def within_rule_share(self):
        return self.share("within_rule", "screens")

    @property
    def intervention_share(self):
        return self.share("reached_intervention", "screens")

    @property
    def acceptance_share(self):
        return self.share("accepted", "referrals")

    @property
    def completion_share(self):
        return self.share("completed", "accepted")

    @property
    def lost_share(self):
        return self.share("lost", "followed")


def contact_rule_hours() -> float:
    rule = TaskRule.objects.filter(trigger=Trigger.POSITIVE_SCREEN, active=True).first()
    if rule is None:
        return 72.0
    return (rule.due_from(timezone.now()) - timezone.now()).total_seconds() / 3600


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def compute(area: Area, since: dt.datetime, until: dt.datetime) -> Figures:
    f = Figures(area=area)
    in_area = Q(area_code__startswith=area.prefix)
    limit = contact_rule_hours()
    screens = Case.objects.filter(
        in_area, source=CaseSource.POSITIVE_SCREEN, opened_at__gte=since, opened_at__lt=until
    ).values_list("opened_at", "first_contact_at", "first_intervention_at")
    waits = []
    for opened, contact, intervention in screens:
        f.screens += 1
        if contact is not None:
            hours = (contact - opened).total_seconds() / 3600
            waits.append(hours)
            f.contacted += 1
            f.within_rule += hours <= limit
        f.reached_intervention += intervention is not None
    f.contact_hours_median = _median(waits)
    referrals = Referral.objects.filter(
        case__area_code__startswith=area.prefix, sent_at__gte=since, sent_at__lt=until
    ).values_list("status", "sent_at", "answered_at", "completed_at")
    answers, completions = [], []
    for status, sent, answered, completed in referrals:
        f.referrals += 1
        if status in (ReferralStatus.ACCEPTED, ReferralStatus.COMPLETED):
            f.accepted += 1
        f.declined += status == ReferralStatus.DECLINED
        if answered is not None:
            answers.append((answered - sent).total_seconds() / 3600)
        if completed is not None:
            f.completed += 1
            completions.append((completed - sent).total_seconds() / 86400)
    f.answer_hours_median = _median(answers)
    f.completion_days_median = _median(completions)
    followed = Case.objects.filter(
        in_area, follow_ups__due_at__gte=since, follow_ups__due_at__lt=until
    ).distinct()
    f.followed = followed.count()
    f.lost = followed.filter(lost_to_follow_up=True).count()
    return f


CHILD_LEVEL = {
    AreaLevel.CITY: AreaLevel.DISTRICT,
    AreaLevel.DISTRICT: AreaLevel.TOWN,
    AreaLevel.TOWN: AreaLevel.VILLAGE,
    AreaLevel.VILLAGE: AreaLevel.GRID,
}

# Counts that name few enough people to be hidden when small (with the shares built on them).
COUNTS = ("screens", "referrals", "followed")
SHARES_OF = {
    "screens": ("contacted", "within_rule", "reached_intervention", "contact_hours_median"),
    "referrals": ("accepted", "declined", "completed", "answer_hours_median"),
    "followed": ("lost",),
}


def suppress(f: Figures, threshold: int) -> Figures:
    """Hide a group of figures whose denominator is a small non-zero count."""
    for count in COUNTS:
        n = getattr(f, count)
        if 0 < n < threshold:
            f.hidden |= {count, *SHARES_OF[count]}
    return f


def drill_down(area: Area, since: dt.datetime, until: dt.datetime) -> tuple[Figures, list[Figures]]:
    """The area's figures and its child areas', small cells hidden in the children."""
    threshold = settings.SMALL_CELL_THRESHOLD
    total = compute(area, since, until)
    children = []
    level = CHILD_LEVEL.get(AreaLevel(area.level))
    if level:
        for child in Area.objects.filter(parent=area, level=level).order_by("code"):
            children.append(suppress(compute(child, since, until), threshold))
    return suppress(total, threshold), children


def formula_safe(value) -> str:
    """A CSV cell a spreadsheet will not run: text starting with = + - @ (or a tab or
    carriage return) gets a leading apostrophe."""
    from xinan.core.lib import spreadsheet  # the one formula-safe cell for every export

    return spreadsheet.safe_cell("" if value is None else str(value))
