"""The events screening publishes, one typed payload per topic (xinan/core/events.py)."""

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class AssessmentScored:
    """`assessment.scored`: one scored assessment, as the crisis rules (and any consumer) read
    it. Written by the submission service (`services.submit_assessment`) and, row by row in
    the same JSON, by the bulk importer; tests build theirs here too."""

    TOPIC: ClassVar[str] = "assessment.scored"

    assessment_id: int | None
    person_id: int | None
    instrument: str
    version: str
    total: float | int
    band: str
    positive: bool
    critical: list[dict[str, Any]]  # [{"item": "9", "level": "red", "answer": 2}]
    area_code: str
    anonymous: bool
    previous_total: float | int | None  # the person's previous total on this instrument
    mode: str
    submitted_at: str  # ISO 8601

    @classmethod
    def of(cls, a, previous: float | None) -> "AssessmentScored":
        return cls(
            assessment_id=a.pk,
            person_id=a.person_id,
            instrument=a.instrument,
            version=a.version,
            total=a.total,
            band=a.band,
            positive=a.positive,
            critical=list(a.critical),
            area_code=a.area_code,
            anonymous=a.person_id is None,
            previous_total=previous,
            mode=a.mode,
            submitted_at=a.submitted_at.isoformat(),
        )


FIELDS = [f.name for f in dataclasses.fields(AssessmentScored)]
