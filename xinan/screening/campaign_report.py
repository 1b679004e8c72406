"""A campaign's counts per area (invited, completed, positive, responded), small cells hidden
with their complements so that no table, or a table and its drill-down, reveals a few people."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import Substr

from xinan.core.lib import suppression
from xinan.core.models import Area
from xinan.screening.models import Assessment, Campaign, CampaignInvitation

COLUMNS = ("invited", "completed", "positive", "responded")
# Sub-counts: positive ⊂ completed, responded ⊂ invited and ⊂ completed.
NESTED = ((2, 1), (3, 0), (3, 1))


@dataclass
class Cell:
    """Counts for one area (area None: not placed in any child area).

    invited: invitations issued; responded: invited people who completed; completed: those
    plus completions through the shared link; positive: completed with a positive screen.
    """

    area: Area | None
    invited: int = 0
    completed: int = 0
    positive: int = 0
    responded: int = 0

    def values(self) -> list[int]:
        return [getattr(self, c) for c in COLUMNS]


def campaign_rows(campaign: Campaign, node: Area) -> tuple[list[Cell], Cell]:
    """Counts per child area of `node`, a row for what no child holds, and the node's total.

    Shared-link completions count each anonymous submission and each identified person once;
    assessments made through a personal link count only through their invitation.
    """
    children = list(Area.objects.current().filter(parent=node).order_by("code"))
    n = len(children[0].prefix) if children else len(node.prefix)
    invitations = CampaignInvitation.objects.filter(
        campaign=campaign, area_code__startswith=node.prefix
    )
    done = Q(completed_at__isnull=False)
    per_invited = {
        r["k"]: r
        for r in invitations.annotate(k=Substr("area_code", 1, n))
        .values("k")
        .annotate(
            invited=Count("pk"),
            responded=Count("pk", filter=done),
            pos=Count("pk", filter=done & Q(positive=True)),
        )
    }
    through = CampaignInvitation.assessments.through.objects.filter(
        campaigninvitation__campaign=campaign
    )
    finished = CampaignInvitation.objects.filter(campaign=campaign).filter(done)
    shared = (
        Assessment.objects.filter(campaign=campaign, area_code__startswith=node.prefix)
        .exclude(pk__in=through.values("assessment_id"))
        .exclude(person__in=finished.values("person_id"))
    )
    per_shared = {
        r["k"]: r
        for r in shared.annotate(k=Substr("area_code", 1, n))
        .values("k")
        .annotate(
            people=Count("person", distinct=True),
            anon=Count("pk", filter=Q(person__isnull=True)),
            pos_people=Count("person", filter=Q(positive=True), distinct=True),
            pos_anon=Count("pk", filter=Q(positive=True, person__isnull=True)),
        )
    }

    def cell(area: Area | None, keys: Iterable[str]) -> Cell:
        c = Cell(area)
        for k in keys:
            i, s = per_invited.get(k), per_shared.get(k)
            if i:
                c.invited += i["invited"]
                c.responded += i["responded"]
                c.completed += i["responded"]
                c.positive += i["pos"]
            if s:
                c.completed += s["people"] + s["anon"]
                c.positive += s["pos_people"] + s["pos_anon"]
        return c

    rows = [cell(child, [child.prefix]) for child in children]
    child_keys = {child.prefix for child in children}
    rows.append(cell(None, (set(per_invited) | set(per_shared)) - child_keys))
    total = cell(node, set(per_invited) | set(per_shared))
    return rows, total


@dataclass
class Report:
    node: Area
    rows: list[tuple[Area | None, list[str], str, bool]]  # area, labels, response rate, drill
    total: tuple[list[str], str]
    threshold: int


def _rate(cell: Cell, hidden: list[str | None]) -> str:
    i_inv, i_resp = COLUMNS.index("invited"), COLUMNS.index("responded")
    if not cell.invited or hidden[i_inv] or hidden[i_resp]:
        return "—"
    return f"{round(100 * cell.responded / cell.invited)}%"


def report(campaign: Campaign, root: Area, node: Area) -> Report:
    """The table for `node`, small cells hidden with their complements.

    A cell hidden in a parent's table stays hidden as the total of its own table when drilled
    into (and one of its children is hidden with it), so the two views cannot be subtracted.
    """
    threshold = settings.SMALL_CELL_THRESHOLD
    chain = [a for a in node.ancestors() if a.code.startswith(root.prefix)] + [node]
    carried = [False] * len(COLUMNS)
    for level, here in enumerate(chain):
        rows, total = campaign_rows(campaign, here)
        table = suppression.suppress_table(
            [r.values() for r in rows],
            total.values(),
            threshold,
            total_hidden=carried,
            nested=NESTED,
        )
        if level + 1 < len(chain):
            below = chain[level + 1]
            index = next((i for i, r in enumerate(rows) if r.area and r.area.pk == below.pk), None)
            if index is None:  # not a current child (re-districted): hide nothing more
                carried = [False] * len(COLUMNS)
            else:
                carried = [reason is not None for reason in table.rows[index]]

    def labels(cell: Cell, reasons: list[str | None]) -> list[str]:
        return [
            suppression.label(v, r, threshold)
            for v, r in zip(cell.values()[:3], reasons[:3], strict=True)
        ]

    out = []
    for r, reasons in zip(rows, table.rows, strict=True):
        if r.area is None and not any(r.values()):
            continue
        drill = r.area is not None and r.area.level != "grid"
        out.append((r.area, labels(r, reasons), _rate(r, reasons), drill))
    return Report(node, out, (labels(total, table.total), _rate(total, table.total)), threshold)
