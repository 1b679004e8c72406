"""Demo data for access grants: the area admins' review page (/break-glass/) has work.

新泾镇's grid worker opened a 华阳路 resident's record in an emergency (waiting for the 华阳路
and district admins' review, still in force), and 华阳路's grid worker one of 新泾镇 last week
(reviewed as justified, expired). Referral grants come from the cases demo (accepted
referrals). Idempotent: a grant already made by the demo is not made again.
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from xinan.accounts.models import User
from xinan.core import scope
from xinan.core.models import AccessGrant, GrantKind

SOURCE = "people.search"


def _first_resident(prefix: str):
    from xinan.people.models import Person

    return (
        Person.objects.filter(home_area__code__startswith=prefix).order_by("pk").first()
    )  # scope: the demo builder, not a view


def build_demo(*, seed: int, stdout) -> None:
    users = {u.username: u for u in User.objects.filter(username__in=_NAMES)}
    if len(users) < len(_NAMES):
        return
    made = 0
    for who, prefix, reason, hours_ago, reviewed in _GRANTS:
        person = _first_resident(prefix)
        user = users[who]
        if (
            person is None
            or AccessGrant.objects.filter(
                kind=GrantKind.BREAK_GLASS, to_user=user, person=person
            ).exists()
        ):
            continue
        with transaction.atomic():
            grant = scope.grant_access(
                person,
                to_user=user,
                kind=GrantKind.BREAK_GLASS,
                reason=reason,
                source=SOURCE,
                expires_at=timezone.now() + dt.timedelta(hours=4),
                actor=user,
            )
            if hours_ago:
                # Made in the past: it has run its course.
                start = timezone.now() - dt.timedelta(hours=hours_ago)
                AccessGrant.objects.filter(pk=grant.pk).update(
                    created_at=start, expires_at=start + dt.timedelta(hours=4)
                )
        if reviewed:
            admin = users["district_admin"]
            scope.review_grant(admin, grant.pk, outcome="justified", note=reviewed)
        made += 1
    stdout.write(f"访问授权演示：新增紧急授权 {made} 条")


_GRANTS = [
    # who, the person's area, reason, made how many hours ago (0: now), review note
    (
        "grid_worker_xinjing",
        "310105001",
        "居民家属来电称其走失，需核实居住地址与紧急联系人",
        0,
        "",
    ),
    (
        "grid_worker",
        "310105102",
        "心理援助热线转来：来电人称有轻生念头，需核实住址以便上门",
        24 * 6,
        "已与热线记录核对，属实",
    ),
]
_NAMES = {"grid_worker", "grid_worker_xinjing", "district_admin"}
