"""The closed loop: 评估 → 鉴别 → 干预 → 转介 → 追踪, as cases, tasks, interventions, referrals and
follow-ups. Business rules live in services.py; this module holds the data and its invariants."""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xinan.core.lib.crypto import EncryptedTextField


class ServiceLine(models.TextChoices):
    GENERAL = "general", _("普通人群")
    PERINATAL = "perinatal", _("孕产期")
    ELDERLY = "elderly", _("老年")
    CHILD_ADOLESCENT = "child_adolescent", _("儿童青少年")
    WORKPLACE = "workplace", _("职场")
    SPECIAL_POPULATION = "special_population", _("特殊人群")


class Stage(models.TextChoices):
    ASSESS = "assess", _("评估")
    IDENTIFY = "identify", _("鉴别")
    INTERVENE = "intervene", _("干预")
    REFER = "refer", _("转介")
    FOLLOW_UP = "follow_up", _("追踪")
    CLOSED = "closed", _("已结案")


# Where a case may go from each stage. Identification comes first: nobody is treated,
# referred or followed up before a professional has judged the case.
TRANSITIONS: dict[str, frozenset[str]] = {
    Stage.ASSESS: frozenset({Stage.IDENTIFY, Stage.CLOSED}),
    Stage.IDENTIFY: frozenset({Stage.INTERVENE, Stage.REFER, Stage.FOLLOW_UP, Stage.CLOSED}),
    Stage.INTERVENE: frozenset({Stage.REFER, Stage.FOLLOW_UP, Stage.CLOSED}),
    Stage.REFER: frozenset({Stage.INTERVENE, Stage.FOLLOW_UP, Stage.CLOSED}),
    Stage.FOLLOW_UP: frozenset({Stage.INTERVENE, Stage.REFER, Stage.CLOSED}),
    Stage.CLOSED: frozenset(),
}


class CaseSource(models.TextChoices):
    POSITIVE_SCREEN = "positive_screen", _("筛查阳性")
    ALERT = "alert", _("危机预警")
    HOTLINE = "hotline", _("热线高危来电")
    ALERT_PLAN = "alert_plan", _("预警关闭后续跟进")
    MANUAL = "manual", _("人工建档")
    REFERRAL = "referral", _("转介")
    BOOKING = "booking", _("预约咨询")


class CloseReason(models.TextChoices):
    RECOVERED = "recovered", _("问题缓解")
    TRANSFERRED = "transferred", _("转由其他机构长期管理")
    MOVED = "moved", _("迁出本区")
    DECLINED = "declined", _("本人拒绝服务")
    LOST = "lost", _("失访")
    DECEASED = "deceased", _("死亡")
    NOT_NEEDED = "not_needed", _("经鉴别无需干预")


class Outcome(models.TextChoices):
    REMISSION = "remission", _("缓解")
    IMPROVED = "improved", _("好转")
    UNCHANGED = "unchanged", _("无变化")
    WORSE = "worse", _("加重")
    UNKNOWN = "unknown", _("不详")


class Priority(models.TextChoices):
    NORMAL = "normal", _("一般")
    HIGH = "high", _("高")


class CaseQuerySet(models.QuerySet):
    def open(self):
        return self.exclude(stage=Stage.CLOSED)


class Case(models.Model):
    """One person's path through the loop on one service line; at most one open per line."""

    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, related_name="cases", verbose_name=_("居民")
    )
    line = models.CharField(_("服务条线"), max_length=20, choices=ServiceLine.choices)
    stage = models.CharField(
        _("阶段"), max_length=12, choices=Stage.choices, default=Stage.ASSESS, db_index=True
    )
    priority = models.CharField(
        _("优先级"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    source = models.CharField(_("来源"), max_length=20, choices=CaseSource.choices)
    area_code = models.CharField(_("区划代码"), max_length=15, db_index=True)
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="responsible_cases",
        verbose_name=_("责任人"),
    )
    team_area = models.ForeignKey(
        "core.Area",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("责任团队（区域）"),
    )
    team_institution = models.ForeignKey(
        "core.Institution",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("责任团队（机构）"),
    )
    opened_at = models.DateTimeField(_("建档时间"), default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    first_contact_at = models.DateTimeField(_("首次联系时间"), null=True, blank=True)
    first_intervention_at = models.DateTimeField(_("首次干预时间"), null=True, blank=True)
    judgement = EncryptedTextField(_("鉴别意见"), blank=True)
    judgement_basis = EncryptedTextField(_("鉴别依据"), blank=True)
    identified_at = models.DateTimeField(_("鉴别时间"), null=True, blank=True)
    identified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    lost_to_follow_up = models.BooleanField(_("失访"), default=False)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)
    close_reason = models.CharField(
        _("结案原因"), max_length=20, choices=CloseReason.choices, blank=True
    )
    outcome = models.CharField(_("结局"), max_length=20, choices=Outcome.choices, blank=True)
    close_note = EncryptedTextField(_("结案说明"), blank=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("个案")
        verbose_name_plural = _("个案")
        constraints = [
            models.UniqueConstraint(
                fields=["person", "line"],
                condition=~Q(stage="closed"),
                name="cases_one_open_case_per_line",
            )
        ]
        indexes = [models.Index(fields=["responsible", "stage"], name="cases_responsible_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_line_display()} · {self.get_stage_display()}"

    @property
    def audit_area_code(self) -> str:
        return self.area_code

    @property
    def is_open(self) -> bool:
        return self.stage != Stage.CLOSED

    def can_move_to(self, stage: str) -> bool:
        return stage in TRANSITIONS.get(self.stage, frozenset())


class CaseEventKind(models.TextChoices):
    OPENED = "opened", _("建档")
    STAGE = "stage", _("阶段变更")
    ASSIGNED = "assigned", _("指派责任人")
    SIGNAL = "signal", _("新情况")
    LOST = "lost", _("标记失访")


class CaseEvent(models.Model):
    """The case's own history: opened, each stage change, each reassignment, each new signal."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=CaseEventKind.choices)
    from_stage = models.CharField(max_length=12, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=12, choices=Stage.choices, blank=True)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    source_key = models.CharField(max_length=80, blank=True, db_index=True)  # idempotency

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.note}"


class Trigger(models.TextChoices):
    POSITIVE_SCREEN = "positive_screen", _("筛查阳性")
    ALERT_RAISED = "alert_raised", _("红/橙色预警")
    HIGH_RISK_CALL = "high_risk_call", _("热线高危来电")
    RED_ALERT_CLOSED = "red_alert_closed", _("红色预警关闭")
    ALERT_CLOSED_WITH_PLAN = "alert_closed_with_plan", _("预警关闭并制定计划")
    REFERRAL_SENT = "referral_sent", _("发出转介")
    REFERRAL_DOWN = "referral_down", _("下转回社区")
    IDENTIFIED = "identified", _("完成鉴别")


class TaskKind(models.TextChoices):
    FIRST_CONTACT = "first_contact", _("首次联系")
    FOLLOW_UP_CONTACT = "follow_up_contact", _("跟进联系")
    REFERRAL_ANSWER = "referral_answer", _("答复转介")
    FOLLOW_UP = "follow_up", _("随访复评")
    # A call back a worker promised a person in their case (added from the case page): a
    # contact like the two above. Not the crisis desk's callback below, hence "联系".
    CALLBACK = "callback", _("回电联系")
    # A crisis callback (after a high-risk call, or asked for from the crisis screen): the
    # crisis app keeps the number and its alert (crisis.CallbackTask), this task the rest.
    # Made only there (MADE_BY_THEIR_OWN_PATH), and only it may have no person.
    CRISIS_CALLBACK = "crisis_callback", _("危机回电")
    ESCALATION = "escalation", _("逾期督办")
    OTHER = "other", _("其他")

    @property
    def refusal(self) -> str:
        """Why no rule or worker makes a task of this kind (`MADE_BY_THEIR_OWN_PATH`)."""
        return str(_REFUSALS[self])


def task_kind_label(kind: str) -> str:
    """The kind's label by an enum lookup: get_kind_display hashes every lazy choice label (a
    gettext each), and TaskKind.values builds the list of all choices on each call; per
    worklist row either was a sizeable part of the page."""
    try:
        return TaskKind(kind).label
    except ValueError:
        return kind


# Kinds made only by their own path, never by a TaskRule or a worker's 新增任务: a crisis
# callback by the crisis side (crisis.services.callbacks.create, which keeps the number and the
# alert beside it; a task without them could be neither dialled nor done), an escalation by the
# overdue sweep.
_REFUSALS = {
    TaskKind.CRISIS_CALLBACK: _(
        "危机回电只能由热线高危来电或居民回电请求生成（需附带回电号码和预警），不能由任务规则或手工创建"
    ),
    TaskKind.ESCALATION: _("逾期督办只能由逾期任务自动生成，不能由任务规则或手工创建"),
}
MADE_BY_THEIR_OWN_PATH = frozenset(_REFUSALS)


class AssignTo(models.TextChoices):
    RESPONSIBLE = "responsible", _("个案责任人")
    ROLE_AT_AREA = "role_at_area", _("居住地区域的角色")
    ROLE_AT_INSTITUTION = "role_at_institution", _("接收机构的角色")


class TaskRule(models.Model):
    """When the loop owes someone a piece of work, and by when: data, edited in admin.

    One row per task to create: three follow-ups after a referral down are three rows of the
    same trigger. `working_days` counts Monday to Friday only.
    """

    key = models.SlugField(_("规则代码"), max_length=60, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    trigger = models.CharField(_("触发条件"), max_length=30, choices=Trigger.choices)
    kind = models.CharField(_("任务类型"), max_length=20, choices=TaskKind.choices)
    due_hours = models.PositiveIntegerField(_("时限（小时）"), default=0)
    due_days = models.PositiveIntegerField(_("时限（天）"), default=0)
    working_days = models.BooleanField(_("按工作日计算"), default=False)
    assign_to = models.CharField(
        _("分配给"), max_length=20, choices=AssignTo.choices, default=AssignTo.RESPONSIBLE
    )
    role = models.CharField(
        _("角色"), max_length=20, blank=True, help_text=_("分配给角色时填写，如 psychiatrist")
    )
    instrument = models.CharField(_("复评量表"), max_length=40, blank=True)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["trigger", "due_days", "due_hours", "key"]
        verbose_name = _("任务规则")
        verbose_name_plural = _("任务规则")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if self.kind in MADE_BY_THEIR_OWN_PATH:
            raise ValidationError({"kind": TaskKind(self.kind).refusal})

    def due_from(self, start: dt.datetime) -> dt.datetime:
        due = start + dt.timedelta(hours=self.due_hours)
        if not self.working_days:
            return due + dt.timedelta(days=self.due_days)
        days = self.due_days
        while days:
            due += dt.timedelta(days=1)
            if timezone.localtime(due).weekday() < 5:
                days -= 1
        return due


class TaskStatus(models.TextChoices):
    OPEN = "open", _("待办")
    DONE = "done", _("已完成")
    CANCELLED = "cancelled", _("已取消")


class TaskQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status=TaskStatus.OPEN)

    def overdue(self, now: dt.datetime):
        return self.open().filter(due_at__lt=now)


class Task(models.Model):
    """A piece of the loop owed by a user, or by a role at an area or institution, by due_at."""

    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, null=True, blank=True, related_name="tasks"
    )
    # Empty only for an anonymous crisis callback (a phone number and nothing else): checked
    # by the database (cases_task_person_or_callback).
    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(_("类型"), max_length=20, choices=TaskKind.choices)
    title = models.CharField(_("事项"), max_length=200)
    due_at = models.DateTimeField(_("截止时间"))
    status = models.CharField(
        _("状态"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="case_tasks",
        verbose_name=_("负责人"),
    )
    assignee_role = models.CharField(_("负责角色"), max_length=20, blank=True)
    assignee_area_code = models.CharField(max_length=15, blank=True)
    assignee_institution = models.ForeignKey(
        "core.Institution", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    area_code = models.CharField(_("区划代码"), max_length=15)
    rule = models.ForeignKey(TaskRule, on_delete=models.SET_NULL, null=True, blank=True)
    referral = models.ForeignKey(
        "Referral", on_delete=models.CASCADE, null=True, blank=True, related_name="tasks"
    )
    follow_up = models.OneToOneField(
        "FollowUp", on_delete=models.CASCADE, null=True, blank=True, related_name="task"
    )
    escalates = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    result = models.CharField(_("结果"), max_length=300, blank=True)
    escalated_at = models.DateTimeField(_("督办时间"), null=True, blank=True)
    # A task raised by another app's event (an overdue SMD follow-up): the cause's key, so the
    # same cause never makes two tasks, and the page where the work is done.
    source_key = models.CharField(max_length=120, blank=True)
    link = models.CharField(max_length=200, blank=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("任务")
        verbose_name_plural = _("任务")
        indexes = [
            # A user's worklist, a role's worklist, and the overdue sweep. The role index walks
            # a role's open tasks in due order and tests the area inside the index, so a
            # town's first page reads a few hundred entries instead of sorting its 20,000.
            models.Index(fields=["assignee", "status", "due_at"], name="cases_task_user_idx"),
            models.Index(
                fields=["assignee_role", "status", "due_at", "assignee_area_code"],
                name="cases_task_role_due_idx",
            ),
            models.Index(
                fields=["due_at"],
                condition=Q(status="open", escalated_at__isnull=True),
                name="cases_task_due_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source_key"], condition=~Q(source_key=""), name="cases_task_source_uniq"
            ),
            # An anonymous crisis callback is a phone number and nothing else; every other task
            # is some person's work (their timeline, export and erasure read it by person).
            models.CheckConstraint(
                condition=Q(person__isnull=False) | Q(kind="crisis_callback"),
                name="cases_task_person_or_callback",
                violation_error_message=_("只有危机回电可以没有对应的居民"),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def audit_area_code(self) -> str:
        return self.area_code

    def is_overdue(self, now: dt.datetime | None = None) -> bool:
        return self.status == TaskStatus.OPEN and self.due_at < (now or timezone.now())

    @property
    def kind_label(self) -> str:
        return task_kind_label(self.kind)

    @property
    def assignee_display(self) -> str:
        """Who owes the task: the user, or the role where it is addressed."""
        if self.assignee_id:
            return str(self.assignee)
        from xinan.accounts.models import Role

        role = Role(self.assignee_role).label if self.assignee_role in Role.values else ""
        where = self.assignee_institution.name if self.assignee_institution_id else ""
        return f"{where}{role}"


class InterventionKind(models.TextChoices):
    INDIVIDUAL = "individual", _("个体心理咨询")
    GROUP = "group", _("团体心理辅导")
    PSYCHOEDUCATION = "psychoeducation", _("心理健康教育")
    MEDICATION = "medication", _("药物治疗")
    SOCIAL_SUPPORT = "social_support", _("社会支持")
    HOME_VISIT = "home_visit", _("入户访视")


# Who may record each kind; medication is for doctors and psychiatrists only.
INTERVENTION_ROLES: dict[str, frozenset[str]] = {
    InterventionKind.INDIVIDUAL: frozenset({"counsellor", "psychiatrist", "doctor"}),
    InterventionKind.GROUP: frozenset({"counsellor", "psychiatrist", "social_worker"}),
    InterventionKind.PSYCHOEDUCATION: frozenset(
        {"counsellor", "psychiatrist", "doctor", "social_worker", "grid_worker"}
    ),
    InterventionKind.MEDICATION: frozenset({"doctor", "psychiatrist"}),
    InterventionKind.SOCIAL_SUPPORT: frozenset({"social_worker", "grid_worker", "counsellor"}),
    InterventionKind.HOME_VISIT: frozenset(
        {"grid_worker", "social_worker", "doctor", "counsellor"}
    ),
}


class Intervention(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="interventions")
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("干预方式"), max_length=20, choices=InterventionKind.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("实施人"),
    )
    started_at = models.DateTimeField(_("开始时间"))
    minutes = models.PositiveIntegerField(_("时长（分钟）"))
    site = models.ForeignKey(
        "core.Institution",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("服务地点"),
    )
    # A session booked at a service site of the network (xinan.network); `site` then holds the
    # institution that runs it, when it has one.
    service_site = models.ForeignKey(
        "network.ServiceSite",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("服务点"),
    )
    online = models.BooleanField(_("线上"), default=False)
    notes = EncryptedTextField(_("记录"), blank=True)
    attendees = models.ManyToManyField(
        "people.Person", blank=True, related_name="+", verbose_name=_("参加者")
    )
    appointment_id = models.BigIntegerField(null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("干预记录")
        verbose_name_plural = _("干预记录")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.started_at:%Y-%m-%d}"

    @property
    def audit_area_code(self) -> str:
        return self.case.area_code


class Direction(models.TextChoices):
    UP = "up", _("上转")
    DOWN = "down", _("下转")
    SOCIAL_WORK = "social_work", _("转社工服务")
    SCHOOL = "school", _("转学校")
    POLICE = "police", _("转公安联络")


# Which kinds of institution take each direction of referral.
DIRECTION_KINDS: dict[str, frozenset[str]] = {
    Direction.UP: frozenset({"mhc", "hospital"}),
    Direction.DOWN: frozenset({"chc"}),
    Direction.SOCIAL_WORK: frozenset({"social_org"}),
    Direction.SCHOOL: frozenset({"school"}),
    Direction.POLICE: frozenset({"government"}),
}


class Urgency(models.TextChoices):
    ROUTINE = "routine", _("常规")
    URGENT = "urgent", _("紧急")


class ReferralStatus(models.TextChoices):
    SENT = "sent", _("待接收")
    ACCEPTED = "accepted", _("已接收")
    DECLINED = "declined", _("已拒收")
    COMPLETED = "completed", _("已反馈结果")


class Referral(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="referrals")
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(_("转介方向"), max_length=12, choices=Direction.choices)
    from_institution = models.ForeignKey(
        "core.Institution",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals_out",
        verbose_name=_("转出机构"),
    )
    to_institution = models.ForeignKey(
        "core.Institution",
        on_delete=models.PROTECT,
        related_name="referrals_in",
        verbose_name=_("接收机构"),
    )
    urgency = models.CharField(_("紧急程度"), max_length=10, choices=Urgency.choices)
    reason = EncryptedTextField(_("转介原因"))
    notes = EncryptedTextField(_("病情摘要"), blank=True)
    assessment_ids = models.JSONField(_("附测评"), default=list, blank=True)
    consent = models.ForeignKey(
        "people.Consent", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    legal_basis = models.CharField(_("法定依据"), max_length=300, blank=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=ReferralStatus.choices, default=ReferralStatus.SENT
    )
    sent_at = models.DateTimeField(_("转出时间"), default=timezone.now)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    answer_due_at = models.DateTimeField(_("答复时限"))
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decline_reason = models.CharField(_("拒收理由"), max_length=300, blank=True)
    grant_id = models.BigIntegerField(null=True, blank=True)
    completed_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)
    diagnosis_summary = EncryptedTextField(_("诊断摘要"), blank=True)
    treatment_plan = EncryptedTextField(_("治疗方案"), blank=True)
    recommended_follow_up = EncryptedTextField(_("社区随访建议"), blank=True)
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-sent_at", "-id"]
        verbose_name = _("转介")
        verbose_name_plural = _("转介")
        indexes = [
            models.Index(fields=["to_institution", "status"], name="cases_referral_inbox_idx")
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} → {self.to_institution}"

    @property
    def audit_area_code(self) -> str:
        return self.case.area_code


class FollowUpMode(models.TextChoices):
    LINK = "link", _("居民自评（个人链接）")
    STAFF = "staff", _("工作人员复评")


class FollowUpStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("待复评")
    DONE = "done", _("已完成")
    MISSED = "missed", _("已错过")


class FollowUp(models.Model):
    """A scheduled repeat assessment with the case's instrument."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="follow_ups")
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    instrument = models.CharField(_("量表"), max_length=40)
    due_at = models.DateTimeField(_("复评时间"))
    mode = models.CharField(_("方式"), max_length=10, choices=FollowUpMode.choices)
    status = models.CharField(
        _("状态"), max_length=10, choices=FollowUpStatus.choices, default=FollowUpStatus.SCHEDULED
    )
    assessment_id = models.BigIntegerField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    # The resident's personal link (mode "link"): a bearer token, good until the follow-up is
    # done or missed.
    token = models.CharField(max_length=40, unique=True, null=True, blank=True, editable=False)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("随访复评")
        verbose_name_plural = _("随访复评")
        indexes = [
            models.Index(
                fields=["due_at"], condition=Q(status="scheduled"), name="cases_followup_due_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.instrument_label} {self.due_at:%Y-%m-%d}"

    @property
    def instrument_label(self) -> str:
        from xinan.cases.services.care import instrument_label

        return instrument_label(self.instrument)
