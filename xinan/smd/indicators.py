"""The national SMD indicators, computed from the records (operational rules: docs/smd.md).

For an area (a code prefix) and a period [start, end]:

- 在册 registered: registered on or before `end`, not excluded, not dead by `end`
  (累计建档 − 累计死亡).
- 在管 managed: 在册 with at least one follow-up in the period that reached the patient with a
  risk assessment, or found them 目前正在住院.
- 规范管理 standard: 在管, with at least ceil(4 × covered days / 365) reached follow-ups in the
  period (covered = from the later of `start` and registration to `end`), and no two
  consecutive ones more than 92 days apart (SMD_STANDARD_VISITS_PER_YEAR,
  SMD_STANDARD_MAX_GAP_DAYS; UNCONFIRMED operational rule).
- 服药 medicated: the last reached follow-up says 规律 or 间断服药, or 目前正在住院.
- 规律服药 regular: the last reached follow-up says 按医嘱规律服药.
- 面访 face-to-face: at least one reached 门诊 or 家庭访视 follow-up (UNCONFIRMED definition).
- 病情稳定: the last reached follow-up's (effective) class is 稳定, over 在管居家 = 在管 whose
  last reached follow-up is not 目前正在住院.
- 体检: an annual exam with consent and an exam date in the period (UNCONFIRMED definition).
- 报告患病率: 在册 / resident records in the area, in ‰.
Rates other than 病情稳定率 and 报告患病率 are over 在册.
"""

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count
from django.db.models.functions import Substr
from django.utils.translation import gettext_lazy as _

from xinan.smd.models import (
    FACE_TO_FACE,
    Adherence,
    Classification,
    FollowUp,
    Hospitalisation,
    Patient,
    PatientStatus,
    PhysicalExam,
)

MEASURES = [
    # key, label
    ("registered", _("在册患者数")),
    ("managed", _("在管患者数")),
    ("standard", _("规范管理患者数")),
    ("medicated", _("服药患者数")),
    ("regular", _("规律服药患者数")),
    ("face", _("面访患者数")),
    ("home_managed", _("在管居家患者数")),
    ("stable", _("病情稳定患者数")),
    ("examined", _("体检患者数")),
]
RATES = [  # key, label, numerator, denominator
    ("management_rate", _("管理率"), "managed", "registered"),
    ("standard_rate", _("规范管理率"), "standard", "registered"),
    ("medication_rate", _("服药率"), "medicated", "registered"),
    ("regular_rate", _("规律服药率"), "regular", "registered"),
    ("face_rate", _("面访率"), "face", "registered"),
    ("stable_rate", _("病情稳定率"), "stable", "home_managed"),
    ("exam_rate", _("体检率"), "examined", "registered"),
]
# The rate shown under each count in the table (a count without one shows none).
RATE_BY_MEASURE = {num: key for key, _label, num, _den in RATES}


def _conf(name: str, default: int) -> int:
    return int(getattr(settings, f"SMD_{name}", default))


@dataclass
class Flags:
    """What one patient counts towards in the period."""

    area: str
    managed: bool = False
    standard: bool = False
    medicated: bool = False
    regular: bool = False
    face: bool = False
    home_managed: bool = False
    stable: bool = False
    examined: bool = False


@dataclass
class Figures:
    area_code: str
    area_name: str
    population: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    patient_ids: dict[str, list[int]] = field(default_factory=dict)

    def rate(self, num: str, den: str) -> float | None:
        d = self.counts.get(den, 0)
        return None if d == 0 else 100.0 * self.counts.get(num, 0) / d

    @property
    def rates(self) -> dict[str, float | None]:
        return {key: self.rate(num, den) for key, _label, num, den in RATES}

    @property
    def prevalence(self) -> float | None:
        if not self.population:
            return None
        return 1000.0 * self.counts.get("registered", 0) / self.population


def registered(prefix: str, end: dt.date):
    """The 在册 patients of the area at `end`."""
    return (
        Patient.objects.filter(person__home_area__code__startswith=prefix, registered_on__lte=end)
        .exclude(status=PatientStatus.EXCLUDED)
        .exclude(death_date__lte=end)
    )


def standard_ok(dates: list[dt.date], start: dt.date, end: dt.date, registered_on) -> bool:
    """The 规范管理 visit rule over the sorted dates of reached follow-ups in the period."""
    covered_from = max(start, registered_on)
    covered = (end - covered_from).days + 1
    if covered <= 0:
        return False
    per_year = _conf("STANDARD_VISITS_PER_YEAR", 4)
    required = max(1, math.ceil(per_year * covered / 365 - 1e-9))
    if len(dates) < required:
        return False
    max_gap = _conf("STANDARD_MAX_GAP_DAYS", 92)
    return all((b - a).days <= max_gap for a, b in zip(dates, dates[1:], strict=False))


def flags(prefix: str, start: dt.date, end: dt.date) -> dict[int, Flags]:
    """Per 在册 patient of the area, what they count towards in [start, end]."""
    patients = dict(registered(prefix, end).values_list("pk", "person__home_area_id"))
    registered_on = dict(Patient.objects.filter(pk__in=patients).values_list("pk", "registered_on"))
    result = {pk: Flags(area=area) for pk, area in patients.items()}
    by_patient: dict[int, list[dict]] = defaultdict(list)
    for f in (
        FollowUp.objects.filter(patient_id__in=patients, visit_date__range=(start, end))
        .order_by("patient_id", "visit_date", "pk")
        .values(
            "patient_id", "visit_date", "reached", "risk_level", "hospitalisation", "adherence",
            "mode", "computed_class", "override_class",
        )
    ):  # fmt: skip
        by_patient[f["patient_id"]].append(f)
    for pk, rows in by_patient.items():
        fl = result[pk]
        reached = [r for r in rows if r["reached"]]
        inpatient = [r for r in rows if r["hospitalisation"] == Hospitalisation.NOW]
        fl.managed = any(r["risk_level"] is not None for r in reached) or bool(inpatient)
        fl.face = any(r["mode"] in FACE_TO_FACE for r in reached)
        if reached:
            last = reached[-1]
            now_in = last["hospitalisation"] == Hospitalisation.NOW
            fl.medicated = now_in or last["adherence"] in (
                Adherence.REGULAR,
                Adherence.INTERMITTENT,
            )
            fl.regular = last["adherence"] == Adherence.REGULAR
            fl.home_managed = fl.managed and not now_in
            effective = last["override_class"] or last["computed_class"]
            fl.stable = fl.home_managed and effective == Classification.STABLE
        fl.standard = fl.managed and standard_ok(
            [r["visit_date"] for r in reached], start, end, registered_on[pk]
        )
    for pk in PhysicalExam.objects.filter(
        patient_id__in=patients, consent=True, exam_date__range=(start, end)
    ).values_list("patient_id", flat=True):
        result[pk].examined = True
    return result


def _population(prefix: str, child_len: int | None) -> dict[str, int]:
    from xinan.people.models import Person  # an aggregate: no person-level rows leave here

    qs = Person.objects.filter(home_area__code__startswith=prefix)
    total = {prefix: qs.count()}
    if child_len:
        for row in (
            qs.annotate(c=Substr("home_area__code", 1, child_len))
            .values("c")
            .annotate(n=Count("pk"))
        ):
            total[row["c"]] = row["n"]
    return total


def aggregate(
    flag_map: dict[int, Flags], groups: Iterable[tuple[str, str, str]], population: dict[str, int]
) -> list[Figures]:
    """Figures for each (prefix, code, name) group from the per-patient flags."""
    out = []
    for prefix, code, name in groups:
        fig = Figures(code, name, population=population.get(prefix, 0))
        for key, _label in MEASURES:
            fig.patient_ids[key] = []
        for pk, fl in flag_map.items():
            if not fl.area.startswith(prefix):
                continue
            fig.patient_ids["registered"].append(pk)
            for key, _label in MEASURES[1:]:
                if getattr(fl, key):
                    fig.patient_ids[key].append(pk)
        fig.counts = {k: len(v) for k, v in fig.patient_ids.items()}
        out.append(fig)
    return out


def report(area, start: dt.date, end: dt.date) -> tuple[Figures, list[Figures]]:
    """The area's figures and its children's (town → village), from one pass over the records."""
    from xinan.core.models import LEVEL_PREFIX_LENGTH, AreaLevel

    drill = [AreaLevel.DISTRICT, AreaLevel.TOWN, AreaLevel.VILLAGE]
    children = list(area.children.filter(level__in=drill).order_by("code"))
    child_len = LEVEL_PREFIX_LENGTH[AreaLevel(children[0].level)] if children else None
    flag_map = flags(area.prefix, start, end)
    population = _population(area.prefix, child_len)
    total = aggregate(flag_map, [(area.prefix, area.code, area.name)], population)[0]
    rows = aggregate(flag_map, [(c.prefix, c.code, c.name) for c in children], population)
    return total, rows
