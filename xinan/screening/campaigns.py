"""Campaign verbs (筛查活动): create, target, issue and print invitations.

A campaign belongs to the area admins above its area; admins of an area inside it (a town
inside a district's campaign) run it for their own area: they issue invitations for the
targeted people in their scope and see the counts from their area down
(campaign_report.py). Answering through a personal link is in invitation_link.py.
"""

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinan.core import audit, jobs, scope
from xinan.core.models import Area
from xinan.screening import services
from xinan.screening.models import (
    Campaign,
    CampaignInvitation,
    InvitationRun,
)

audit.register_action("screening.invitation.issue", _("发出筛查邀请"))
audit.register_action("screening.invitation.export", _("下载筛查邀请名单"))
# written by invitation_link.py; registered here with the others, where the site loads them
audit.register_action("screening.invitation.answer", _("通过个人邀请链接完成测评"))
audit.register_action("screening.invitation.print", gettext_lazy("打印筛查邀请单"))
audit.register_action("screening.invitation.reissue", gettext_lazy("重新生成个人邀请链接"))

log = logging.getLogger(__name__)

ISSUE_BATCH = 1000  # 7 parameters a row: within SQLite's and PostgreSQL's limits
RUN_STALE_MINUTES = 30  # an unfinished issuing run older than this died with its process
PRINT_LIMIT = 200  # invitation slips on one printable sheet; a bigger area prints by sub-area


# ---------------------------------------------------------------- campaigns


@dataclass(frozen=True)
class CampaignData:
    name: str
    area: Area
    instruments: tuple[str, ...]
    starts_on: dt.date
    ends_on: dt.date
    tags: tuple = ()
    age_min: int | None = None
    age_max: int | None = None


def create_campaign(data: CampaignData, *, actor) -> Campaign:
    if not any(data.area.code.startswith(p) for p in scope.admin_prefixes(actor)):
        raise services.ScreeningError(_("只能在您管理的地区发起筛查活动"), field="area")
    if data.ends_on < data.starts_on:
        raise services.ScreeningError(_("结束日期不能早于开始日期"), field="ends_on")
    if data.age_min is not None and data.age_max is not None and data.age_min > data.age_max:
        raise services.ScreeningError(_("最小年龄不能大于最大年龄"), field="age_max")
    if not data.instruments:
        raise services.ScreeningError(_("请至少选择一个量表"), field="instruments")
    for code in data.instruments:
        services.instrument(code)
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=data.name.strip(),
            area=data.area,
            instruments=list(data.instruments),
            starts_on=data.starts_on,
            ends_on=data.ends_on,
            age_min=data.age_min,
            age_max=data.age_max,
            created_by=actor,
        )
        campaign.tags.set(data.tags)
        audit.record("screening.campaign.create", campaign, actor=actor)
    return campaign


def _admin_areas(user) -> list[Area]:
    if not user.is_authenticated:
        return []
    return [m.area for m in user.active_memberships() if m.role == "area_admin" and m.area]


def campaigns_for(user) -> QuerySet:
    """Campaigns in the user's admin areas, and those of areas above them (run for their part)."""
    areas = _admin_areas(user)
    if not areas:
        return Campaign.objects.none()
    above = {a.code for area in areas for a in area.ancestors()}
    return Campaign.objects.filter(
        scope.area_q([a.prefix for a in areas], "area__code") | Q(area__code__in=above)
    )


def get_campaign(user, pk) -> Campaign:
    try:
        return campaigns_for(user).select_related("area").get(pk=int(pk))
    except (Campaign.DoesNotExist, TypeError, ValueError):
        raise Http404 from None


def root_for(campaign: Campaign, user) -> Area:
    """The highest area of the campaign the user sees counts for: the campaign's own area, or
    (for an admin of an area inside it) the user's area."""
    inside = []
    for area in _admin_areas(user):
        if campaign.area.code.startswith(area.prefix):
            return campaign.area
        if area.code.startswith(campaign.area.prefix):
            inside.append(area)
    if not inside:
        raise Http404
    return min(inside, key=lambda a: a.code)


def area_in_view(campaign: Campaign, user, code: str) -> Area:
    """The area `code` if the user may see the campaign's counts there, else Http404."""
    root = root_for(campaign, user)
    node = Area.objects.filter(code=code).first() if code else root
    if node is None or not node.code.startswith(campaign.area.prefix):
        raise Http404
    if not any(node.code.startswith(a.prefix) for a in _admin_areas(user)):
        raise Http404
    return node


def targets(campaign: Campaign, user) -> QuerySet:
    """People the campaign targets, within the user's scope (grants do not widen it)."""
    qs = scope.persons(user, include_grants=False).filter(
        home_area__code__startswith=campaign.area.prefix
    )
    tag_codes = list(campaign.tags.values_list("code", flat=True))
    if tag_codes:
        qs = qs.filter(tags__code__in=tag_codes).distinct()
    today = timezone.localdate()
    if campaign.age_min is not None:
        qs = qs.filter(birth_date__lte=_years_before(today, campaign.age_min))
    if campaign.age_max is not None:
        qs = qs.filter(birth_date__gt=_years_before(today, campaign.age_max + 1))
    return qs


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# ---------------------------------------------------------------- invitations (staff side)


def invitations_for(campaign: Campaign, user) -> QuerySet:
    """The campaign's invitations of people in the user's scope (the person-level list)."""
    return scope.filter_related(
        user, campaign.invitations.all(), person_path="person", include_grants=False
    )


def issue_invitations(campaign: Campaign, *, actor, run: InvitationRun | None = None) -> int:
    """Invite every targeted person in the actor's scope not invited yet; returns how many.

    Idempotent: issuing again adds only people who are new to the target group. A district may
    have 100,000 targets: rows go in as one INSERT per ISSUE_BATCH people, not through model
    instances (bulk_create spent 20 s on 100,000 under SQLite; this takes 2 s there and 6 s on
    PostgreSQL on the development machine). Each batch commits on its own and, given a `run`,
    adds to its count, so the campaign page can show progress and a run cut short leaves
    nothing a second one cannot finish. The unique (campaign, person) constraint with ON
    CONFLICT DO NOTHING makes a concurrent second click harmless.
    """
    if campaign.ends_on < timezone.localdate():
        raise services.ScreeningError(_("活动已结束，不能再发出邀请"))
    already = CampaignInvitation.objects.filter(campaign=campaign).values("person_id")
    people = list(  # read fully before writing to the same tables
        targets(campaign, actor)
        .exclude(pk__in=already)
        .order_by()
        .values_list("pk", "home_area_id")
    )
    if run is not None:
        InvitationRun.objects.filter(pk=run.pk).update(total=len(people))
    new_token = CampaignInvitation._meta.get_field("token").get_default
    issued = 0
    for start in range(0, len(people), ISSUE_BATCH):
        batch = [(pk, new_token(), area) for pk, area in people[start : start + ISSUE_BATCH]]
        with transaction.atomic(), connection.cursor() as cursor:
            added = _insert_invitations(cursor, campaign, actor, batch)
            if run is not None:
                InvitationRun.objects.filter(pk=run.pk).update(issued=F("issued") + added)
        issued += added
        jobs.progress(start + len(batch), len(people))  # the jobs page's bar, when a job
    audit.record(
        "screening.invitation.issue",
        campaign,
        actor=actor,
        reason=_("新发出 %(n)s 份邀请") % {"n": issued},
    )
    return issued


def start_issuing(campaign: Campaign, *, actor) -> InvitationRun:
    """Issue as a durable job run by a worker (inline when SCREENING_IMPORT_INLINE is set, as
    in tests, through the same job path).

    One run at a time per campaign and admin: a second click while one is going returns it.
    A worker that dies mid-run is taken over by another, which goes on skipping the people
    already invited; a run left unfinished anyway is superseded by the next click after
    RUN_STALE_MINUTES."""
    if campaign.ends_on < timezone.localdate():
        raise services.ScreeningError(_("活动已结束，不能再发出邀请"))
    going = (
        InvitationRun.objects.filter(
            campaign=campaign,
            started_by=actor,
            finished_at__isnull=True,
            started_at__gte=timezone.now() - dt.timedelta(minutes=RUN_STALE_MINUTES),
        )
        .order_by("-started_at")
        .first()
    )
    if going is not None:
        return going
    run = InvitationRun.objects.create(campaign=campaign, started_by=actor)
    result = jobs.enqueue(
        issue_run, run.pk, user=actor, description=_("发放邀请：%(c)s") % {"c": campaign.name}
    )
    if getattr(settings, "SCREENING_IMPORT_INLINE", False):
        jobs.run_now(result)
    run.refresh_from_db()
    return run


def _give_up(job) -> None:
    InvitationRun.objects.filter(pk=job.args[0], finished_at__isnull=True).update(
        finished_at=timezone.now(), error=_("发放中断，请稍后重试（已发出的邀请不会重复）")
    )


@jobs.durable(max_attempts=3, on_give_up=_give_up)
@task()
def issue_run(run_pk: int) -> None:
    """Issue one run's invitations: resumable (the people invited are skipped), so a worker
    that takes over a dead one's run goes on where it stopped."""
    run = InvitationRun.objects.select_related("campaign", "started_by").get(pk=run_pk)
    error = ""
    try:
        issue_invitations(run.campaign, actor=run.started_by, run=run)
    except services.ScreeningError as exc:
        error = exc.message
    except Exception:  # noqa: BLE001 — the page must say it stopped; the log says why
        log.exception("issuing invitations (run %s) failed", run_pk)
        error = _("发放中断，请稍后重试（已发出的邀请不会重复）")
    InvitationRun.objects.filter(pk=run_pk).update(finished_at=timezone.now(), error=error)


def latest_run(campaign: Campaign, user) -> InvitationRun | None:
    """The user's most recent issuing run for this campaign (counts only, their own scope)."""
    return InvitationRun.objects.filter(campaign=campaign, started_by=user).first()


def _insert_invitations(
    cursor, campaign: Campaign, actor, batch: list[tuple[int, str, str]]
) -> int:
    """One INSERT for a batch of (person id, token, area code), skipping people already invited;
    returns how many it added.

    PostgreSQL takes the columns as three arrays (a VALUES list of thousands of parameters is
    slow to bind there); SQLite takes a multi-row VALUES list.
    """
    table = CampaignInvitation._meta.db_table
    columns = "(campaign_id, issued_by_id, issued_at, positive, person_id, token, area_code)"
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    if connection.vendor == "postgresql":
        cursor.execute(
            f"INSERT INTO {table} {columns} "  # noqa: S608 — our own table name
            "SELECT %s, %s, %s, false, u.p, u.t, u.a "
            "FROM unnest(%s::bigint[], %s::varchar[], %s::varchar[]) AS u(p, t, a) "
            "ON CONFLICT DO NOTHING",
            [campaign.pk, actor.pk, now, *map(list, zip(*batch, strict=True))],
        )
        return cursor.rowcount
    params: list = []
    for row in batch:
        params += [campaign.pk, actor.pk, now, False, *row]
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(batch))
    cursor.execute(
        f"INSERT INTO {table} {columns} VALUES {values} ON CONFLICT DO NOTHING",  # noqa: S608
        params,
    )
    return cursor.rowcount


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***: the first character, then one star per character."""
    name = (name or "").strip()
    return name[:1] + "*" * (len(name) - 1) if name else ""


EXPORT_HEADER = (
    gettext_lazy("编号"),
    gettext_lazy("姓名"),
    gettext_lazy("区划代码"),
    gettext_lazy("地区"),
    gettext_lazy("个人链接"),
    gettext_lazy("状态"),
)


def export_invitations(campaign: Campaign, *, actor, link_base: str) -> Iterator[list[str]]:
    """Rows for the invitation list (header first): masked name, area, personal link, status.

    Audited when called; the rows are read as a stream. `link_base` is the absolute URL of
    `/screening/i/`, to which each token is appended.
    """
    qs = invitations_for(campaign, actor)
    area_codes = list(qs.order_by().values_list("area_code", flat=True).distinct())
    names = dict(Area.objects.filter(code__in=area_codes).values_list("code", "name"))
    audit.record(
        "screening.invitation.export",
        campaign,
        actor=actor,
        reason=_("%(n)s 个地区") % {"n": len(area_codes)},
    )
    rows = qs.order_by("area_code", "pk").values_list(
        "pk", "person__name", "area_code", "token", "completed_at"
    )

    def generate() -> Iterator[list[str]]:
        yield [str(h) for h in EXPORT_HEADER]
        for pk, name, code, token, completed_at in rows.iterator(chunk_size=5000):
            yield [
                str(pk),
                mask_name(name),
                code,
                names.get(code, ""),
                f"{link_base}{token}/",
                _("已完成") if completed_at else _("未完成"),
            ]

    return generate()


@dataclass
class PrintSheet:
    """One page of slips of an area: at most PRINT_LIMIT, in area order."""

    invitations: list[CampaignInvitation]
    total: int
    area_names: dict[str, str]
    page: int = 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PRINT_LIMIT))


def print_sheet(
    campaign: Campaign, user, node: Area, *, include_completed: bool = False, page: int = 1
) -> PrintSheet:
    """Invitations in `node` (within the user's scope) for paper slips with a QR code each.

    Community workers hand these to residents who will not get the link by SMS or WeChat. A
    big area prints page by page (or sub-area by sub-area). A slip carries a working link, so
    every page printed is audited like downloading the list.
    """
    qs = invitations_for(campaign, user).filter(area_code__startswith=node.prefix)
    if not include_completed:
        qs = qs.filter(completed_at__isnull=True)
    total = qs.count()
    if total == 0:
        return PrintSheet([], 0, {})
    page = min(max(1, page), PrintSheet([], total, {}).pages)
    start = (page - 1) * PRINT_LIMIT
    invitations = list(
        qs.select_related("person").order_by("area_code", "pk")[start : start + PRINT_LIMIT]
    )
    codes = {i.area_code for i in invitations}
    names = dict(Area.objects.filter(code__in=codes).values_list("code", "name"))
    sheet = PrintSheet(invitations, total, names, page)
    audit.record(
        "screening.invitation.print",
        campaign,
        actor=user,
        area_code=node.code,
        reason=_("%(area)s，第 %(page)s/%(pages)s 页，%(n)s 份")
        % {"area": node.name, "page": page, "pages": sheet.pages, "n": len(invitations)},
    )
    return sheet


def reissue_invitation(campaign: Campaign, user, pk: int) -> CampaignInvitation:
    """Give one invitation a new link; the old one stops working at once.

    For a slip lost or a link sent to the wrong number. Answers already given through the old
    link stay with the person and count for the new one.
    """
    invitation = invitations_for(campaign, user).select_related("person").filter(pk=pk).first()
    if invitation is None:
        raise Http404
    if campaign.ends_on < timezone.localdate():
        raise services.ScreeningError(_("活动已结束，不能再生成链接"))
    new_token = CampaignInvitation._meta.get_field("token").get_default
    with transaction.atomic():
        invitation.token = new_token()
        invitation.save(update_fields=["token"])
        audit.record(
            "screening.invitation.reissue",
            invitation,
            actor=user,
            area_code=invitation.area_code,
            reason=_("旧链接已失效"),
        )
    return invitation
