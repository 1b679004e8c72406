"""Demo data for the closed loop: cases at every stage in 华阳路街道 (and a few in 新泾镇), open and
overdue tasks, referrals in each state between the community health centre and the district
mental health centre, and one resident's whole journey with a follow-up chart.

Built through the service verbs with times in the past, so the pages, the figures and the audit
log read as a real six months. Idempotent: a second run finds its marker and does nothing."""

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from xinan.accounts.models import Membership, User
from xinan.cases import services
from xinan.cases.models import Case, CaseSource, Trigger
from xinan.core import audit
from xinan.core.models import AuditEntry, Institution, InstitutionKind  # noqa: I001
from xinan.people.models import Consent, Person

MARKER = "cases.demo.build"
TOWN = "310105001"  # 华阳路街道: where the demo's counsellor, grid worker and doctor work
BANDS = [
    (0, "minimal", "无抑郁症状或极轻微"),
    (5, "mild", "轻度抑郁症状"),
    (10, "moderate", "中度抑郁症状"),
    (15, "moderately_severe", "中重度抑郁症状"),
    (20, "severe", "重度抑郁症状"),
]


def _assessment(person, total: float, at: dt.datetime, *, by=None):
    from xinan.screening.models import Assessment

    band = [b for b in BANDS if total >= b[0]][-1]
    return Assessment.objects.create(
        person=person,
        instrument="PHQ-9",
        version="1",
        total=total,
        band=band[1],
        band_label=band[2],
        positive=total >= 10,
        mode="interview" if by else "self",
        entered_by=by,
        area_code=person.home_area_id,
        submitted_at=at,
        created_at=at,
    )


class Demo:
    def __init__(self, seed: int, stdout):
        self.rng = random.Random(seed + 13)
        self.now = timezone.now().replace(minute=0, second=0, microsecond=0)
        self.out = stdout
        users = {u.username: u for u in User.objects.filter(username__in=_USERNAMES)}
        self.counsellor = users["counsellor"]
        self.grid = users["grid_worker"]
        self.grid_xinjing = users["grid_worker_xinjing"]
        self.social = users["social_worker"]
        self.doctor = users["doctor"]
        self.psychiatrist = users["psychiatrist"]
        self.crisis = users["crisis_worker"]
        self.mhc = Institution.objects.get(kind=InstitutionKind.MENTAL_HEALTH_CENTRE)
        self.chc = self.doctor.memberships.get(institution__isnull=False).institution
        self.social_org = Institution.objects.filter(
            kind=InstitutionKind.SOCIAL_ORGANISATION
        ).first()
        # The district psychiatrist also works at the mental health centre: its referral inbox.
        Membership.objects.get_or_create(
            user=self.psychiatrist, role="psychiatrist", institution=self.mhc
        )
        adults = Person.objects.filter(
            home_area__code__startswith=TOWN,
            birth_date__lte=dt.date(2006, 1, 1),
            birth_date__gte=dt.date(1968, 1, 1),
            user__isnull=True,
        ).order_by("pk")
        grid = self.grid.memberships.get(area__isnull=False).area_id
        self.grid_people = iter(list(adults.filter(home_area_id=grid)[:20]))
        self.people = iter(list(adults.exclude(home_area_id=grid)[:200]))
        self.elderly = iter(
            list(
                Person.objects.filter(
                    home_area__code__startswith=TOWN, birth_date__lt=dt.date(1960, 1, 1)
                ).order_by("pk")[:20]
            )
        )
        xinjing_grid = self.grid_xinjing.memberships.get(area__isnull=False).area_id
        self.others = iter(
            list(
                Person.objects.filter(
                    home_area_id=xinjing_grid, birth_date__lte=dt.date(2006, 1, 1)
                ).order_by("pk")[:20]
            )
        )

    def ago(self, days: float) -> dt.datetime:
        return self.now - dt.timedelta(days=days)

    def screen(self, person, days_ago: float, total: float = 16, *, responsible=None) -> Case:
        """A positive self-assessment and the case it opens (as the consumer would)."""
        at = self.ago(days_ago)
        a = _assessment(person, total, at)
        case, _created = services.open_case(
            person,
            actor=None,
            source=CaseSource.POSITIVE_SCREEN,
            responsible=responsible,
            note=f"筛查阳性：PHQ-9 {total:g}分",
            source_key=f"assessment:{a.pk}",
            trigger=Trigger.POSITIVE_SCREEN,
            now=at,
        )
        return case

    def contact(self, case: Case, days_after: float, actor=None) -> None:
        task = case.tasks.filter(status="open", kind="first_contact").first()
        if task is not None:
            services.complete_task(
                task,
                actor=actor or case.responsible or self.counsellor,
                result="已电话联系，约定面谈",
                now=case.opened_at + dt.timedelta(days=days_after),
            )

    def identify(self, case: Case, days_ago: float, actor=None) -> Case:
        return services.move_case(
            case,
            to="identify",
            actor=actor or self.counsellor,
            judgement="抑郁情绪明显，伴失眠，无自伤计划",
            basis="PHQ-9 复核、面谈评估",
            now=self.ago(days_ago),
        )

    def session(self, case: Case, days_ago: float, *, kind="individual", actor=None, minutes=50):
        services.record_intervention(
            case,
            actor=actor or self.counsellor,
            kind=kind,
            started_at=self.ago(days_ago),
            minutes=minutes,
            site=self.chc,
            notes="讨论睡眠与工作压力，布置行为激活作业",
        )

    def consent(self, person) -> None:
        Consent.objects.get_or_create(
            person=person, kind="data_sharing", defaults={"granted": True}
        )

    def refer_up(self, case: Case, days_ago: float, urgency="routine"):
        self.consent(case.person)
        return services.create_referral(
            case,
            actor=self.counsellor,
            to_institution=self.mhc,
            direction="up",
            urgency=urgency,
            reason="心理咨询4次后抑郁症状无明显改善，需精神科诊断及药物评估",
            notes="PHQ-9 持续中重度，睡眠差，社会功能下降",
            from_institution=self.chc,
            now=self.ago(days_ago),
        )

    # Scenarios -------------------------------------------------------------------------------

    def journey(self) -> Person:
        """One resident through the whole loop, now in follow-up with a falling score."""
        person = next(self.people)
        case = self.screen(person, 120, 18)
        self.contact(case, 1)
        case = self.identify(case, 118)
        for d in (110, 103, 96):
            self.session(case, d)
        _assessment(person, 16, self.ago(96), by=self.counsellor)
        r = self.refer_up(case, 95)
        r = services.accept_referral(r, actor=self.psychiatrist, now=self.ago(94))
        self.session(case, 94, kind="medication", actor=self.psychiatrist, minutes=30)
        r = services.complete_referral(
            r,
            actor=self.psychiatrist,
            diagnosis_summary="抑郁发作（中度），无精神病性症状",
            treatment_plan="舍曲林 50mg 每日一次；4周后复诊",
            recommended_follow_up="社区每2周电话随访，1个月、3个月复评PHQ-9",
        )
        down = services.create_referral(
            case,
            actor=self.psychiatrist,
            to_institution=self.chc,
            direction="down",
            urgency="routine",
            reason="病情好转，下转社区随访",
            from_institution=self.mhc,
            parent=r,
            now=self.ago(80),
        )
        services.accept_referral(down, actor=self.doctor, now=self.ago(79))
        # The 2-week and 1-month repeat assessments came in; the 3-month one is ahead.
        for days_ago, total in ((65, 11), (49, 7)):
            a = _assessment(person, total, self.ago(days_ago))
            services.record_assessment(
                {
                    "assessment_id": a.pk,
                    "person_id": person.pk,
                    "instrument": "PHQ-9",
                    "submitted_at": a.submitted_at.isoformat(),
                }
            )
        return person

    def closed(self) -> None:
        for _ in range(3):
            person = next(self.people)
            case = self.screen(person, self.rng.randint(100, 170), 13)
            self.contact(case, self.rng.choice([0.5, 1, 2]))
            case = self.identify(case, 90)
            for d in (85, 78, 71, 64):
                self.session(case, d)
            for days_ago, total in ((70, 9), (50, 6), (40, 4)):
                f = services.schedule_follow_up(
                    case,
                    actor=self.counsellor,
                    instrument="phq9",
                    due_at=self.ago(days_ago + 1),
                    mode="link",
                )
                a = _assessment(person, total, self.ago(days_ago))
                services.record_assessment(
                    {
                        "assessment_id": a.pk,
                        "person_id": person.pk,
                        "instrument": f.instrument,
                        "submitted_at": a.submitted_at.isoformat(),
                    }
                )
            services.move_case(
                case,
                to="closed",
                actor=self.counsellor,
                reason="recovered",
                outcome="remission",
                note="PHQ-9 降至4分，功能恢复",
                now=self.ago(40),
            )

    def assess_stage(self) -> None:
        """New positive screens: some contacted, some due today, some overdue."""
        for days_ago in (0.2, 0.5, 1.5, 2.6, 4, 5, 6):
            case = self.screen(next(self.people), days_ago, self.rng.randint(10, 19))
            if days_ago > 5.5:
                self.contact(case, 4.5)  # late: outside the 3-day rule
        # Earlier screens, contacted in time or late, for the figures.
        for _ in range(14):
            case = self.screen(
                next(self.people), self.rng.randint(20, 170), self.rng.randint(10, 19)
            )
            self.contact(case, round(self.rng.triangular(0.1, 6, 1.2), 2))
            if self.rng.random() < 0.6:
                case = self.identify(case, 15)
                self.session(case, 12)

    def identify_stage(self) -> None:
        for _ in range(3):
            case = self.screen(next(self.people), self.rng.randint(8, 20), 14)
            self.contact(case, 1)
            self.identify(case, 6)

    def intervene_stage(self) -> None:
        for i in range(3):
            person = next(self.grid_people) if i == 2 else next(self.people)
            case = self.screen(person, 40, 15, responsible=self.grid if i == 2 else None)
            self.contact(case, 1)
            case = self.identify(case, 35)
            self.session(case, 30)
            if i == 2:
                self.session(case, 10, kind="home_visit", actor=self.grid, minutes=40)
                services.add_task(
                    case,
                    actor=self.grid,
                    kind="other",
                    title="入户访视：了解家庭支持情况",
                    due_at=self.now + dt.timedelta(hours=5),
                )

    def referrals(self) -> None:
        """Up-referrals in every state: waiting (one past its answer time), declined, accepted
        awaiting an outcome; down-referrals waiting at the community health centre."""
        states = ["sent", "sent_overdue", "declined", "accepted", "accepted"]
        for state in states:
            case = self.screen(next(self.people), 30, 17)
            self.contact(case, 1)
            case = self.identify(case, 25)
            self.session(case, 20)
            r = self.refer_up(
                case,
                4 if state == "sent_overdue" else 0.5,
                urgency="urgent" if state == "sent" else "routine",
            )
            if state == "declined":
                services.decline_referral(
                    r, actor=self.psychiatrist, reason="建议先到综合医院心理科就诊，本中心门诊已满"
                )
            elif state == "accepted":
                services.accept_referral(r, actor=self.psychiatrist)
        for _ in range(2):
            case = self.screen(next(self.people), 60, 16)
            self.contact(case, 1)
            case = self.identify(case, 55)
            r = self.refer_up(case, 50)
            r = services.accept_referral(r, actor=self.psychiatrist, now=self.ago(49))
            r = services.complete_referral(
                r,
                actor=self.psychiatrist,
                diagnosis_summary="焦虑抑郁状态",
                treatment_plan="药物治疗联合心理咨询",
                recommended_follow_up="社区每月随访",
            )
            services.create_referral(
                case,
                actor=self.psychiatrist,
                to_institution=self.chc,
                direction="down",
                urgency="routine",
                reason="病情稳定，下转社区随访",
                from_institution=self.mhc,
                parent=r,
                now=self.ago(1),
            )
        if self.social_org is not None:
            case = self.screen(next(self.people), 20, 12)
            self.contact(case, 1)
            case = self.identify(case, 15)
            self.consent(case.person)
            services.create_referral(
                case,
                actor=self.counsellor,
                to_institution=self.social_org,
                direction="social_work",
                urgency="routine",
                reason="失业后经济困难，需社工链接救助资源",
                now=self.ago(2),
            )

    def lost(self) -> None:
        """Follow-ups missed twice: flagged lost to follow-up on the worker's list."""
        for responsible in (self.counsellor, self.grid):
            person = next(self.grid_people) if responsible == self.grid else next(self.people)
            case = self.screen(person, 100, 15, responsible=responsible)
            self.contact(case, 1, actor=responsible)
            case = self.identify(case, 95)
            self.session(case, 90)
            services.move_case(case, to="follow_up", actor=self.counsellor, now=self.ago(89))
            for days_ago in (75, 45, -10):
                services.schedule_follow_up(
                    case,
                    actor=self.counsellor,
                    instrument="phq9",
                    due_at=self.ago(days_ago),
                    mode="link",
                )
        services.mark_missed(self.now)

    def doctor_lines(self) -> None:
        """Elderly cases the community doctor is responsible for (clients of the centre)."""
        for _ in range(3):
            person = next(self.elderly, None)
            if person is None:
                return
            person.institutions.add(self.chc)
            case = self.screen(person, self.rng.randint(3, 12), 12, responsible=self.doctor)
            if self.rng.random() < 0.5:
                self.contact(case, 1, actor=self.doctor)

    def closed_alert(self) -> None:
        """A red alert closed with '约定明日回访': the follow-up contact due within 24 hours."""
        from xinan.cases import consumers
        from xinan.core.events import Event

        person = next(self.people)
        consumers.follow_up_closed_alert(
            Event(
                id=0,
                topic="alert.closed",
                payload={
                    "alert_id": f"demo-{person.pk}",
                    "level": "red",
                    "person_id": person.pk,
                    "disposition": "safe_with_plan",
                },
            )
        )

    def other_town(self) -> None:
        for days_ago in (3, 10, 30, 50, 70, 90):
            person = next(self.others, None)
            if person is None:
                return
            case = self.screen(person, days_ago, 12, responsible=self.grid_xinjing)
            self.contact(case, self.rng.choice([1, 2, 5]), actor=self.grid_xinjing)


_USERNAMES = [
    "counsellor",
    "grid_worker",
    "grid_worker_xinjing",
    "social_worker",
    "doctor",
    "psychiatrist",
    "crisis_worker",
]


def build_demo(*, seed: int, stdout) -> None:
    if AuditEntry.objects.filter(action=MARKER).exists():
        stdout.write("cases: demo already built")
        return
    if User.objects.filter(username__in=_USERNAMES).count() < len(_USERNAMES):
        stdout.write("cases: demo users missing, skipped")
        return
    with transaction.atomic():
        demo = Demo(seed, stdout)
        star = demo.journey()
        demo.closed()
        demo.assess_stage()
        demo.identify_stage()
        demo.intervene_stage()
        demo.referrals()
        demo.lost()
        demo.doctor_lines()
        demo.closed_alert()
        demo.other_town()
        escalated = services.escalate_overdue(demo.now)
        audit.record(MARKER, actor=None, object_type="cases.demo", object_id=seed)
    stdout.write(
        f"cases: {Case.objects.count()} cases, {escalated} overdue tasks escalated; "
        f"journey: {star.name} (#{star.pk})"
    )
