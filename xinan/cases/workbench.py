"""The staff's home: 我的待办 first (overdue marked, due today, then upcoming), new arrivals, and
the counts that matter to the user's roles, each a link to its list."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from xinan.cases import services
from xinan.cases.models import CaseSource, ReferralStatus, TaskKind
from xinan.cases.services.cases import CASE_ROLES
from xinan.cases.services.referrals import institutions_of
from xinan.core.workbench import Section, section

FIRST_CONTACT_ROLES = frozenset({"grid_worker", "social_worker", "counsellor", "doctor"})
ARRIVAL_SOURCES = (CaseSource.POSITIVE_SCREEN, CaseSource.ALERT_PLAN, CaseSource.ALERT)


@section(order=10)
def my_worklist(request) -> Section | None:
    user = request.user
    roles = user.roles()
    if not roles & (CASE_ROLES | {"area_admin"}):
        return None
    now = timezone.now()
    end_of_today = timezone.localtime(now).replace(hour=23, minute=59, second=59)
    tasks = services.worklist(user)
    first = services.first_task_rows
    overdue = first(tasks.filter(due_at__lt=now), 10)
    today = first(tasks.filter(due_at__gte=now, due_at__lte=end_of_today), 10)
    upcoming = first(tasks.filter(due_at__gt=end_of_today), max(0, 10 - len(today)))
    for when, tasks_when in (("overdue", overdue), ("today", today), ("upcoming", upcoming)):
        for task in tasks_when:
            task.when = when
    rows = [*overdue, *today, *upcoming]
    week_ago = now - dt.timedelta(days=7)
    # New signals for those who make the first contact; psychiatrists get theirs as referrals.
    first_contact = bool(roles & FIRST_CONTACT_ROLES)
    arrivals = (
        []
        if not first_contact
        else list(
            services.cases_for(user)
            .open()
            .filter(opened_at__gte=week_ago, source__in=ARRIVAL_SOURCES)
            .select_related("person")
            .order_by("-opened_at")[:8]
        )
    )
    inbox = list(
        services.inbox(user).filter(status=ReferralStatus.SENT).order_by("answer_due_at")[:8]
    )
    worklist_url = reverse("cases:worklist")
    cases_url = reverse("cases:list")
    counts = [
        (_("逾期待办"), tasks.filter(due_at__lt=now).count(), f"{worklist_url}?when=overdue", True),
        (
            _("今日待办"),
            tasks.filter(due_at__gte=now, due_at__lte=end_of_today).count(),
            f"{worklist_url}?when=today",
            False,
        ),
    ]
    if first_contact:
        mine = services.cases_for(user).open().filter(responsible=user)
        counts += [
            (_("我负责的个案"), mine.count(), f"{cases_url}?mine=1", False),
            (
                _("失访"),
                mine.filter(lost_to_follow_up=True).count(),
                f"{cases_url}?mine=1&lost=1",
                True,
            ),
        ]
    if institutions_of(user):
        counts.append(
            (
                _("已接收待反馈"),
                services.inbox(user).filter(status=ReferralStatus.ACCEPTED).count(),
                reverse("cases:referrals") + "?box=in&status=accepted",
                False,
            )
        )
        counts.append(
            (
                _("待答复转介"),
                services.inbox(user).filter(status=ReferralStatus.SENT).count(),
                reverse("cases:referrals") + "?box=in&status=sent",
                True,
            )
        )
    if roles & CASE_ROLES:
        counts.append(
            (
                _("已发出待接收"),
                services.sent(user).filter(status=ReferralStatus.SENT).count(),
                reverse("cases:referrals") + "?box=out&status=sent",
                False,
            )
        )
    if "area_admin" in roles:
        counts.append(
            (
                _("逾期督办"),
                tasks.filter(kind=TaskKind.ESCALATION).count(),
                f"{worklist_url}?kind=escalation",
                True,
            )
        )
    return Section(
        "cases/_workbench.html",
        {
            "tasks": rows,  # overdue, due today, upcoming: one table, in this order
            "arrivals": arrivals,
            "inbox": inbox,
            "counts": [
                {"label": lbl, "n": n, "url": url, "warn": warn and n}
                for lbl, n, url, warn in counts
            ],
            "now": now,
        },
    )
