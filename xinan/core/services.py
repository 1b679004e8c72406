"""Area tree import and institution upkeep; where a resident finds help near home."""

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinan.core import audit, scope
from xinan.core.lib import areacode, uploads
from xinan.core.models import LEVEL_PARENT, LEVEL_PREFIX_LENGTH, Area, AreaLevel

LEVEL_ALIASES = {
    "city": AreaLevel.CITY,
    "市": AreaLevel.CITY,
    "district": AreaLevel.DISTRICT,
    "区": AreaLevel.DISTRICT,
    "县": AreaLevel.DISTRICT,
    "town": AreaLevel.TOWN,
    "街镇": AreaLevel.TOWN,
    "街道": AreaLevel.TOWN,
    "镇": AreaLevel.TOWN,
    "village": AreaLevel.VILLAGE,
    "村居": AreaLevel.VILLAGE,
    "社区": AreaLevel.VILLAGE,
    "村": AreaLevel.VILLAGE,
    "grid": AreaLevel.GRID,
    "网格": AreaLevel.GRID,
}


audit.register_action("core.areas.import", gettext_lazy("导入区划"))
audit.register_action("core.area.create", gettext_lazy("新增区划"))
audit.register_action("core.area.rename", gettext_lazy("修改区划名称或层级"))
audit.register_action("core.area.retire", gettext_lazy("停用区划"))


class AreaImportError(Exception):
    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


def code_problem(code: str, level: AreaLevel) -> str | None:
    """Why `code` cannot be an area of `level`, or None when it can."""
    expected = 15 if level == AreaLevel.GRID else 12
    if not code.isdigit() or len(code) != expected:
        return _("区划代码应为%(n)d位数字") % {"n": expected}
    significant = LEVEL_PREFIX_LENGTH[level]
    if level != AreaLevel.GRID and set(code[significant:]) - {"0"}:
        return _("%(level)s代码第%(start)d位之后应全为0") % {
            "level": level.label,
            "start": significant,
        }
    own = areacode.segment(code, level)
    if level != AreaLevel.CITY and set(own) == {"0"}:
        return _("代码中本级段全为0，不是%(level)s代码") % {"level": level.label}
    return None


def parent_candidates(code: str, level: AreaLevel) -> list[str]:
    """Possible parent codes, nearest first.

    A district of a municipality hangs under the municipality itself (310105 under 310000,
    there being no separate 3101 city).
    """
    parent_level = LEVEL_PARENT.get(level)
    if parent_level is None:
        return []
    nearest = areacode.at_level(code, parent_level)
    if parent_level == AreaLevel.CITY:
        return [nearest, areacode.province_code(code)]
    return [nearest]


def parent_code(code: str, level: AreaLevel, known: set[str] | None = None) -> str | None:
    candidates = parent_candidates(code, level)
    if known is not None:
        for candidate in candidates:
            if candidate in known:
                return candidate
    return candidates[0] if candidates else None


@dataclass
class AreaImportResult:
    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)


def parse_area_rows(
    text: str,
) -> tuple[list[tuple[str, str, AreaLevel, dt.date | None, int]], list[str]]:
    """(code, name, level, valid_from, line) of each good row, and why the others are not."""
    rows, errors = [], []
    text = text.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text), delimiter=uploads.delimiter(text.split("\n", 1)[0]))
    missing = {"code", "name", "level"} - set(reader.fieldnames or [])
    if missing:
        return [], [
            _("表头缺少列：%(cols)s（需要 code,name,level）") % {"cols": ",".join(sorted(missing))}
        ]
    for line_no, raw in enumerate(reader, start=2):
        code = (raw.get("code") or "").strip()
        name = (raw.get("name") or "").strip()
        level = LEVEL_ALIASES.get((raw.get("level") or "").strip().lower())
        where = _("第%(line)d行") % {"line": line_no}
        if level is None:
            errors.append(
                _("%(where)s：层级“%(value)s”无效，应为 city/district/town/village/grid")
                % {"where": where, "value": raw.get("level") or ""}
            )
            continue
        if not name:
            errors.append(_("%(where)s：名称不能为空") % {"where": where})
            continue
        problem = code_problem(code, level)
        if problem:
            errors.append(
                _("%(where)s：区划代码“%(code)s”%(problem)s")
                % {"where": where, "code": code, "problem": problem}
            )
            continue
        valid_from = None
        if raw.get("valid_from"):
            try:
                valid_from = dt.date.fromisoformat(raw["valid_from"].strip())
            except ValueError:
                errors.append(_("%(where)s：生效日期应为 YYYY-MM-DD") % {"where": where})
                continue
        rows.append((code, name, level, valid_from, line_no))
    return rows, errors


def area_reach(actor) -> list[str] | None:
    """The area prefixes whose areas below the actor may create or rename: None for all (the
    system, a sysadmin), an area admin's own areas, else none."""
    if actor is None or "sysadmin" in actor.roles():
        return None
    return scope.admin_prefixes(actor)


def _outside(code: str, reach: list[str] | None) -> bool:
    """Whether an area admin with this reach may not change `code`: only areas strictly below
    their own (a town admin names its villages, not its own town nor a neighbour)."""
    if reach is None:
        return False
    own = areacode.significant(code)
    return not any(code.startswith(p) and len(own) > len(p) for p in reach)


def import_areas(text: str, *, actor) -> AreaImportResult:
    """Create or rename areas from CSV (code,name,level[,valid_from]); all or nothing.

    An area admin changes only areas below their own; every created or renamed area is audited
    on its own (`core.area.create`, `core.area.rename`), with the import as a whole.
    """
    rows, errors = parse_area_rows(text)
    reach = area_reach(actor)
    if reach == []:
        raise AreaImportError([_("您没有修改区划的权限")])
    seen: dict[str, int] = {}
    for index, (code, _name, _level, _vf, line) in enumerate(rows):
        if code in seen:
            errors.append(_("区划代码“%(code)s”在文件中重复") % {"code": code})
        seen[code] = index
        if _outside(code, reach):
            errors.append(
                _(
                    "第%(line)d行：区划“%(code)s”不在您管辖的区划之下，您只能新增或修改本辖区以下的区划"
                )
                % {"line": line, "code": code}
            )
    in_file = set(seen)
    wanted = {c for code, _n, level, _v, _l in rows for c in parent_candidates(code, level)}
    known = in_file | set(
        Area.objects.filter(code__in=wanted - in_file).values_list("code", flat=True)
    )
    for code, _name, level, _vf, _line in rows:
        parent = parent_code(code, level, known)
        if parent and parent not in known:
            errors.append(
                _("区划代码“%(code)s”的上级“%(parent)s”不存在（孤立节点）")
                % {"code": code, "parent": parent}
            )
    if errors:
        raise AreaImportError(errors)
    result = AreaImportResult()
    # Parents before children, so every FK points at a saved row.
    ordered = sorted(rows, key=lambda r: LEVEL_PREFIX_LENGTH[r[2]])
    existing = Area.objects.in_bulk([r[0] for r in rows])
    with transaction.atomic():
        for code, name, level, valid_from, _line in ordered:
            area = existing.get(code)
            if area is None:
                area = Area.objects.create(
                    code=code,
                    name=name,
                    level=level,
                    parent_id=parent_code(code, level, known),
                    **({"valid_from": valid_from} if valid_from else {}),
                )
                result.created += 1
                if actor is not None:
                    audit.record(
                        "core.area.create",
                        area,
                        actor=actor,
                        area_code=code,
                        changed_fields=["code", "name", "level"],
                    )
            elif area.name != name or area.level != level:
                changed = audit.changed(area, {"name": name, "level": level})
                reason = _("原名称：%(name)s") % {"name": area.name} if "name" in changed else ""
                area.name, area.level = name, level
                area.save(update_fields=["name", "level"])
                result.updated += 1
                audit.record(
                    "core.area.rename",
                    area,
                    actor=actor,
                    area_code=code,
                    changed_fields=changed,
                    reason=reason,
                )
        audit.record(
            "core.areas.import",
            actor=actor,
            object_type="core.area",
            object_id=f"{result.created}+{result.updated}",
            area_code=(areacode.pad(reach[0]) if reach and len(reach) == 1 else ""),
            changed_fields=["code", "name", "level"],
        )
    return result


def retire_area(area: Area, *, on: dt.date, actor) -> None:
    """Mark an area as no longer valid from `on` (re-districting); its history stays."""
    with transaction.atomic():
        area.valid_to = on
        area.save(update_fields=["valid_to"])
        audit.record(
            "core.area.retire", area, actor=actor, area_code=area.code, changed_fields=["valid_to"]
        )


# ---------------------------------------------------------------- where help is


def service_sites(area_code: str, limit: int = 10) -> list:
    """Service sites nearest the home in the area tree (the village first, then the town, the
    district), each marked `open_now`: the network app's sites (xinan/network/services.py)."""
    from xinan.network.services import sites_near_home

    return sites_near_home(area_code, limit=limit)


def nearest_help(area_code: str) -> dict[str, str]:
    """The local hotline and where to book a counsellor for this area, each its own or its
    nearest ancestor's; the booking link falls back to the deployment's (XINAN_BOOKING_URL)."""
    area = Area.objects.filter(code=area_code).first() if area_code else None
    found = area.inherited("hotline", "booking_url") if area else {"hotline": "", "booking_url": ""}
    found["booking_url"] = found["booking_url"] or settings.BOOKING_URL
    return found


def local_hotline(area_code: str) -> str:
    if not area_code:
        return ""
    area = Area.objects.filter(code=area_code).first()
    return area.local_hotline() if area else ""
