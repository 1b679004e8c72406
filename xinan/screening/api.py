"""Screening over the API: staff systems submit paper or interview results by ID number."""

import datetime as dt
from typing import Literal

from django.utils import timezone
from ninja import Field, Router, Schema
from ninja.responses import Response

from xinan.core import scope
from xinan.screening import services
from xinan.screening.models import Mode

router = Router(tags=["screening"])


class AssessmentIn(Schema):
    instrument: str = Field(max_length=32, examples=["PHQ-9"])
    version: str | None = Field(None, max_length=16)
    id_number: str = Field(max_length=32, description="居民身份证号（18 位）")
    answers: str | list[int | str] = Field(
        description="Option codes in item order, as `xinan score` takes them: "
        '"1,2,0,…" or a list; PSQI as "key=value,…"',
        examples=["1,2,0,1,2,3,0,1,0"],
    )
    assessed_on: dt.date | None = Field(None, description="测评日期，缺省为今天")
    site: str = Field("", max_length=200)
    mode: Literal["paper", "interview"] = "paper"
    idempotency_key: str | None = Field(
        None, max_length=64, description="the same key twice saves one assessment"
    )


class CriticalOut(Schema):
    item: str
    level: str
    answer: int | float | str | None


class AssessmentReceived(Schema):
    """What a caller whose role sees no scores gets back (grid workers, social workers, area
    admins: detail level ATTENTION): the assessment was saved, scored and, if an answer needs
    it, raised as a crisis alert — but its score is not theirs to read."""

    id: int
    instrument: str
    version: str
    submitted_at: dt.datetime
    scores_shown: Literal[False] = Field(description="false: this caller may not see scores")


class AssessmentOut(Schema):
    """What a caller whose role sees scores gets back (counsellors, doctors, crisis workers:
    detail level SCORES; psychiatrists: FULL)."""

    id: int
    instrument: str
    version: str
    submitted_at: dt.datetime
    scores_shown: Literal[True] = Field(description="true: the score follows")
    total: float | None
    band: str
    band_label: str
    positive: bool
    critical: list[CriticalOut]


class Problem(Schema):
    detail: str
    field: str | None = None


def _when(day: dt.date | None) -> dt.datetime | None:
    if day is None or day == timezone.localdate():
        return None  # now
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12, 0)))


@router.post(
    "/assessments",
    response={201: AssessmentOut | AssessmentReceived, 400: Problem, 409: Problem},
    summary="Submit one scored assessment for a person in the caller's scope",
    description="The answer is at the caller's detail level for the person: roles that see "
    "scores (counsellor, doctor, crisis worker, psychiatrist) get `AssessmentOut` with total, "
    "band, band_label, positive and critical; the others (grid worker, social worker, area "
    "admin) get `AssessmentReceived` without them. `scores_shown` says which. 409: the "
    "idempotency key was already used for a different submission.",
)
def submit(request, data: AssessmentIn):
    answers = data.answers if isinstance(data.answers, str) else ",".join(map(str, data.answers))
    try:
        a = services.submit_for_id_number(
            actor=request.auth,
            instrument_code=data.instrument,
            version=data.version,
            id_number=data.id_number,
            answer_codes=answers,
            mode=Mode(data.mode),
            site=data.site,
            submitted_at=_when(data.assessed_on),
            idempotency_key=data.idempotency_key,
        )
    except services.IdempotencyConflict as exc:
        return Response({"detail": exc.message, "field": exc.field}, status=409)
    except services.ScreeningError as exc:
        return Response({"detail": exc.message, "field": exc.field}, status=400)
    # Rendered here, in the shapes documented above (the API tests hold it to them): letting
    # ninja validate its own output again costs a tenth of the call.
    body = {
        "id": a.pk,
        "instrument": a.instrument,
        "version": a.version,
        "submitted_at": a.submitted_at,
        "scores_shown": False,
    }
    if _sees_scores(request.auth, a.person):
        body.update(
            scores_shown=True,
            total=a.total,
            band=a.band,
            band_label=a.band_label,
            positive=a.positive,
            critical=a.critical,
        )
    return Response(body, status=201)


def _sees_scores(user, person) -> bool:
    """From what the submission already loaded: the gate stops at the first rule that gives the
    caller's best screening detail, so a person reached by area (the usual case) costs no
    query; only an institution's client or a grant asks the database."""
    return scope.detail_for(user, person, "screening") >= scope.Detail.SCORES
