"""Small-cell suppression for published count tables (primary and complementary).

A count below the threshold (but not zero) is hidden: that is *primary* suppression. When a
table also shows its total, one hidden cell in a column is recovered by subtraction
(total − the visible cells), so more cells are hidden: that is *complementary* suppression.

Each column is one equation, `sum(children) == total`. In it:
- no cell, or at least two cells (the total counts), are hidden;
- when the total is visible, the hidden children together add up to at least the threshold
  (two hidden 1s under a total that leaves 2 unexplained would otherwise be read as 1 and 1).
Cells are added smallest first (the next-smallest non-zero visible child); when no child is
left, the total itself is hidden. Zeros are shown: a zero discloses nothing about anyone.

`total_hidden` lets a caller carry a hidden cell down a drill-down: a child area hidden in its
parent's table has its own total hidden in its own table, and then at least one of its children
is hidden too, so the two views cannot be combined to recover it.

Columns are not additive across a row (invited, completed and positive count different
things), so there is no row equation. But a column may count a subset of another (positive ⊂
completed): a visible sub-count is a lower bound on a hidden count in the same row (completed
hidden, positive 6 shown, completed + 1 = 7: completed is 6). `nested=[(sub, whole)]` hides the
non-zero sub-count wherever the whole is hidden, and the columns are suppressed again until
nothing changes.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PRIMARY = "primary"
COMPLEMENTARY = "complementary"


def is_small(n: int | None, threshold: int) -> bool:
    return n is not None and 0 < n < threshold


def suppress_column(
    cells: Sequence[int | None],
    total: int,
    threshold: int,
    *,
    total_hidden: bool = False,
    hide: Iterable[int] = (),
) -> tuple[list[str | None], str | None]:
    """Why each cell (None = shown, PRIMARY, COMPLEMENTARY) and the total are hidden.

    `None` cells are not part of the column (not applicable) and are never hidden. `hide` are
    indices hidden for a reason outside this column (see `nested`).
    """
    reasons: list[str | None] = [PRIMARY if is_small(n, threshold) else None for n in cells]
    for i in hide:
        if cells[i] and reasons[i] is None:
            reasons[i] = COMPLEMENTARY
    if is_small(total, threshold):
        total_reason: str | None = PRIMARY
    else:
        total_reason = COMPLEMENTARY if total_hidden else None

    def hidden() -> list[int]:
        return [i for i, r in enumerate(reasons) if r is not None]

    def needs_more() -> bool:
        count = len(hidden()) + (total_reason is not None)
        if count == 1:
            return True
        if total_reason is None and hidden():
            return sum(cells[i] or 0 for i in hidden()) < threshold
        return False

    while needs_more():
        candidates = [i for i, n in enumerate(cells) if n and reasons[i] is None]
        if not candidates:
            if total_reason is None and total:
                total_reason = COMPLEMENTARY
            break
        reasons[min(candidates, key=lambda i: (cells[i], i))] = COMPLEMENTARY
    return reasons, total_reason


@dataclass(frozen=True)
class Table:
    """Reasons, shaped like the input: `rows[r][c]` and `total[c]`."""

    rows: list[list[str | None]]
    total: list[str | None]


def suppress_table(
    rows: Sequence[Sequence[int | None]],
    total: Sequence[int],
    threshold: int,
    *,
    total_hidden: Sequence[bool] = (),
    nested: Sequence[tuple[int, int]] = (),
) -> Table:
    """Apply `suppress_column` to every column of a table with a totals row.

    `nested` pairs (sub, whole) name columns counting a subset of another column's rows.
    """
    width = len(total)
    carried = [bool(total_hidden[c]) if c < len(total_hidden) else False for c in range(width)]
    forced: list[set[int]] = [set() for _ in range(width)]
    while True:
        out_rows: list[list[str | None]] = [[None] * width for _ in rows]
        out_total: list[str | None] = [None] * width
        for c in range(width):
            reasons, out_total[c] = suppress_column(
                [row[c] for row in rows],
                total[c],
                threshold,
                total_hidden=carried[c],
                hide=forced[c],
            )
            for r, reason in enumerate(reasons):
                out_rows[r][c] = reason
        changed = False
        for sub, whole in nested:
            for r, row in enumerate(rows):
                if out_rows[r][whole] and not out_rows[r][sub] and row[sub]:
                    forced[sub].add(r)
                    changed = True
            if out_total[whole] and not out_total[sub] and total[sub]:
                carried[sub] = True
                changed = True
        if not changed:
            return Table(out_rows, out_total)


def label(n: int | None, reason: str | None, threshold: int, *, hidden: str = "*") -> str:
    """What to print: the number, `<threshold` for a small cell, `hidden` for a complement."""
    if n is None:
        return "—"
    if reason is None:
        return str(n)
    return f"<{threshold}" if reason == PRIMARY else hidden
