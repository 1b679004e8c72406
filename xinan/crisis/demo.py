"""Crisis demo: a roster that covers 长宁区 7×24 (day and night crisis workers, a named
fallback lead), and a realistic night's work on the board and the hotline desk.

Called by `xinan demo` after the people demo; safe to re-run (nothing is doubled, and a re-run
extends the roster to the coming two weeks).
"""

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from xinan.accounts.models import Membership, Role, User
from xinan.cases.models import Task
from xinan.core.lib import crypto
from xinan.core.models import Area
from xinan.crisis import services
from xinan.crisis.models import Alert, CrisisFallback, DutyShift, FallbackMode, HotlineCall, Level
from xinan.people.demo import DEMO_PASSWORD
from xinan.people.models import Person

DISTRICT = "310105000000"
CRISIS_USERS = [
    # username, display name: day shift, night shift, the district team lead (fallback)
    ("crisis_worker", "危机干预员 孙杰"),
    ("crisis_night", "危机干预员 周敏（夜班）"),
    ("crisis_lead", "区危机干预队负责人 吴宏"),
]
DAY_START, NIGHT_START = 8, 20  # local hours
ROSTER_DAYS = 14


def _user(username: str, display: str, area: Area) -> User:
    user, created = User.objects.get_or_create(
        username=username, defaults={"display_name": display}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    Membership.objects.get_or_create(user=user, role=Role.CRISIS_WORKER, area=area)
    return user


def _shift(user: User, area: Area, start: dt.datetime, end: dt.datetime) -> bool:
    if DutyShift.objects.filter(user=user, starts_at__lt=end, ends_at__gt=start).exists():
        return False
    DutyShift.objects.create(user=user, area=area, starts_at=start, ends_at=end)
    return True


def build_roster(day: User, night: User, area: Area, now: dt.datetime) -> int:
    """Day 08–20 and night 20–08 from yesterday for two weeks: no hour uncovered."""
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    made = 0
    for d in range(-1, ROSTER_DAYS):
        base = today + dt.timedelta(days=d)
        morning = base.replace(hour=DAY_START)
        evening = base.replace(hour=NIGHT_START)
        made += _shift(day, area, morning, evening)
        made += _shift(night, area, evening, morning + dt.timedelta(days=1))
        if d == -1:  # the night before the first day shift
            made += _shift(night, area, base, morning)
    return made


def build_work(rng: random.Random, day: User) -> int:
    """A few alerts and calls so the board and the desk show a real shift's work."""
    if Alert.objects.filter(trigger_key__startswith="demo-").exists():
        return 0
    residents = list(
        Person.objects.filter(home_area__code__startswith="310105").order_by("pk")[:400]
    )
    if len(residents) < 3:
        return 0
    a, b, c = rng.sample(residents, 3)
    services.raise_alert(
        actor=None,
        subject_key=f"person:{a.pk}",
        trigger_key="demo-phq9-item9",
        trigger="critical_item",
        source="assessment",
        level=Level.RED,
        summary="PHQ-9 第9题（自伤念头）：几乎每天",
        area_code=a.home_area_id,
        person=a,
    )
    orange, _created = services.raise_alert(
        actor=None,
        subject_key=f"person:{b.pk}",
        trigger_key="demo-phq9-severe",
        trigger="severe_band",
        source="assessment",
        level=Level.ORANGE,
        summary="PHQ-9 总分 22：重度抑郁症状",
        area_code=b.home_area_id,
        person=b,
    )
    if orange.assigned_to_id:
        services.acknowledge_alert(orange, actor=orange.assigned_to)
    services.request_callback(phone="13800009901", note="晚上睡不着，想找人聊聊", area_code="")
    now = timezone.now()
    services.record_call(
        actor=day,
        topic="emotion",
        risk="low",
        received_at=now - dt.timedelta(minutes=40),
        wait_seconds=18,
        duration_seconds=720,
        notes="工作压力大，已介绍附近服务点",
    )
    services.record_call(
        actor=day,
        topic="suicide",
        risk="high",
        received_at=now - dt.timedelta(minutes=12),
        wait_seconds=9,
        duration_seconds=1500,
        person=c,
        phone="13900009902",
        notes="独居，近期失业，有轻生念头；已约定回电",
    )
    return 5


# Callbacks owed from earlier in the day and in the night: each resident was not reached, the
# alert was closed with the callback kept, and it is overdue in its worker's 我的待办.
OWED_CALLBACKS = [
    # phone, message, hours ago, day (True) or night worker
    ("13800009903", "白天打过热线，想再聊聊", 3, True),
    ("13800009904", "夜里睡不着，想找人说说话", 9, False),
]


def build_callbacks(day: User, night: User, now: dt.datetime) -> int:
    """Overdue callbacks in the crisis workers' worklists (a closed alert's stay where they
    are: the duty-chain sweep leaves them to their holder)."""
    home = Person.objects.filter(home_area__code__startswith="310105").order_by("pk").first()
    made = 0
    for phone, note, hours, by_day in OWED_CALLBACKS:
        if Alert.objects.filter(subject_key=f"phone:{crypto.lookup_hash(phone)[:32]}").exists():
            continue
        worker = day if by_day else night
        callback = services.request_callback(
            phone=phone, note=note, area_code=home.home_area_id if home else ""
        )
        alert = callback.alert
        services.acknowledge_alert(alert, actor=worker)
        services.record_contact(alert, actor=worker, outcome="no_answer", note="未接通")
        services.close_alert(alert, actor=worker, reason="两次未接通，改由回电任务继续联系")
        asked = now - dt.timedelta(hours=hours)
        Task.objects.filter(pk=callback.task_id).update(
            created_at=asked, due_at=asked + dt.timedelta(minutes=30)
        )
        made += 1
    return made


def build_demo(*, seed: int, stdout) -> None:
    district = Area.objects.filter(code=DISTRICT).first()
    if district is None:
        return
    with transaction.atomic():
        day, night, lead = (_user(u, name, district) for u, name in CRISIS_USERS)
        CrisisFallback.objects.update_or_create(
            area=district, defaults={"mode": FallbackMode.LEAD, "user": lead}
        )
        shifts = build_roster(day, night, district, timezone.now())
        work = build_work(random.Random(seed), day)
        work += build_callbacks(day, night, timezone.now())
        # Alerts raised before anyone was on duty (an earlier demo) go to who is on now.
        for alert in Alert.objects.active().filter(assigned_to__isnull=True):
            services.reassign_unassigned(alert)
    calls = HotlineCall.objects.count()
    stdout.write(
        f"危机干预：新增班次 {shifts}，演示预警与来电 {work}，热线来电共 {calls}"
        "（长宁区7×24有人值班）"
    )
