"""Screening verbs: submit an assessment, keep a draft, run a campaign.

Every scored assessment is saved with its audit row and its `assessment.scored` outbox row in
one transaction; scoring itself belongs to xinan.instruments.
"""

import datetime as dt
import functools
import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from xinan.core import audit, events, outbox, scope
from xinan.core.lib import crypto, fastsql, idnumber
from xinan.screening.models import Assessment, AssessmentDraft, Campaign, Mode
from xinan.screening.topics import AssessmentScored

audit.register_action("screening.assessment.submit", _("提交测评"))
audit.register_action("screening.assessment.view", _("查看测评"))
audit.register_action("screening.campaign.create", _("创建筛查活动"))

TOPIC = AssessmentScored.TOPIC
# No assessment on this platform's instruments can be older: a date before it is a typo.
EARLIEST_ASSESSMENT = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
log = logging.getLogger(__name__)


class ScreeningError(Exception):
    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class IdempotencyConflict(ScreeningError):
    """The idempotency key was already used for a different submission."""


def _same_submission(existing: Assessment, a: "Assessment") -> Assessment:
    """The row saved first under this key, if `a` is the same submission; else the conflict."""
    same = (existing.instrument, existing.version, existing.person_id, existing.answers) == (
        a.instrument,
        a.version,
        a.person_id,
        a.answers,
    )
    if not same:
        raise IdempotencyConflict(
            _("该幂等键已用于另一份不同的测评（量表、对象或答案不同），未保存；请换一个新的键"),
            field="idempotency_key",
        )
    return existing


# ---------------------------------------------------------------- instruments
# xinan.instruments is imported when first used, so the rest of the site keeps working on an
# install where that app is broken or missing.


def _engine():
    from xinan.instruments import engine

    return engine


def _registry():
    from xinan.instruments import registry

    return registry


def parse_codes(inst, text: str):
    """Answer codes typed as "0,1,2" (or a row of cells joined by commas), validated."""
    engine = _engine()
    try:
        return engine.parse_answers(inst, text)
    except engine.InstrumentError as exc:
        raise ScreeningError(str(exc), field="answers") from None


def instrument(code: str, version: str | None = None):
    """The instrument, or ScreeningError with a message a user can read."""
    try:
        found = _registry().get_instrument(code, version)
    except (_engine().InstrumentError, KeyError, LookupError, ValueError) as exc:
        # Unknown code, or a definition file that does not load: the log tells which.
        log.warning("instrument %s (version %s) unavailable: %s", code, version, exc)
        found = None
    if found is None:
        raise ScreeningError(_("没有这个量表：%(code)s") % {"code": code}, field="instrument")
    return found


def instruments() -> list:
    return list(_registry().list_instruments())


def item_text(item) -> str:
    from django.utils.translation import get_language

    en = (get_language() or "").startswith("en")
    return (getattr(item, "text_en", None) if en else None) or getattr(item, "text_zh", "") or ""


def option_label(option) -> str:
    from django.utils.translation import get_language

    code, _value, label_zh, label_en = option[:4]
    if (get_language() or "").startswith("en") and label_en:
        return label_en
    return label_zh or str(code)


def _answers_dict(inst, answers) -> dict[str, Any]:
    if isinstance(answers, Mapping):
        return {str(k): v for k, v in answers.items()}
    return {str(item.id): a for item, a in zip(inst.items, answers, strict=False)}


# ---------------------------------------------------------------- submission


def area_for(person, campaign: Campaign | None, area_code: str | None) -> str:
    """Where it happened: the person's home, else the campaign's or the link's area, else ""."""
    if person is not None:
        return person.home_area_id
    if campaign is not None:
        return campaign.area_id
    return area_code or ""


def previous_total(person, code: str, before: dt.datetime | None = None) -> float | None:
    if person is None:
        return None
    # Asked once per submission: plain SQL on the (person, instrument, submitted_at) index.
    table = Assessment._meta.db_table
    sql = f"SELECT total FROM {table} WHERE person_id = %s AND instrument = %s"  # noqa: S608
    params: list[Any] = [person.pk, code]
    if before is not None:
        sql += " AND submitted_at <= %s"
        params.append(connection.ops.adapt_datetimefield_value(before))
    row = fastsql.fetchone(sql + " ORDER BY submitted_at DESC, id DESC LIMIT 1", params)
    return None if row is None else row[0]


def payload(a: Assessment, previous: float | None) -> dict[str, Any]:
    """The `assessment.scored` event (screening/topics.py) as the outbox stores it."""
    return events.to_dict(AssessmentScored.of(a, previous))


def _critical(result) -> list[dict[str, Any]]:
    return [
        {"item": str(c["item"]), "level": c["level"], "answer": c["answer"]}
        for c in (getattr(result, "critical", None) or [])
    ]


def _json_safe(value):
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def score_answers(inst, answers):
    engine = _engine()
    try:
        return engine.score(inst, answers)
    except engine.InstrumentError as exc:
        raise ScreeningError(str(exc), field="answers") from None


@functools.cache
def _mode_label_in(mode: str, language: str | None) -> str:
    return str(Mode(mode).label)


def _mode_label(mode: str) -> str:
    # Resolving a lazy label costs a catalogue lookup per submission; once per language is enough.
    return _mode_label_in(mode, translation.get_language())


def submit_assessment(
    *,
    instrument_code: str,
    answers: Mapping[str, Any] | Sequence[Any],
    mode: str,
    actor,
    person=None,
    version: str | None = None,
    campaign: Campaign | None = None,
    area_code: str | None = None,
    site: str = "",
    submitted_at: dt.datetime | None = None,
    idempotency_key: str | None = None,
) -> Assessment:
    """Validate, score, save; audit and outbox rows in the same transaction."""
    if mode not in Mode.values:
        raise ScreeningError(_("未知的录入方式"))
    inst = instrument(instrument_code, version)
    result = score_answers(inst, answers)
    now = timezone.now()
    submitted_at = submitted_at or now
    if submitted_at > now + dt.timedelta(minutes=5):
        raise ScreeningError(_("测评时间不能晚于现在"), field="submitted_at")
    if submitted_at < EARLIEST_ASSESSMENT:
        raise ScreeningError(_("测评日期不能早于2000年1月1日，请核对"), field="submitted_at")
    entered_by = actor if getattr(actor, "is_authenticated", False) else None
    existing = None
    if idempotency_key:
        existing = Assessment.objects.filter(idempotency_key=idempotency_key).first()
    # Everything that only reads is done before the transaction: on SQLite it takes the one
    # write lock, and holding it shorter is what keeps concurrent submissions from queueing.
    # (A concurrent submission for the same person can make `previous` one behind; the unique
    # idempotency key still refuses a duplicate import row.)
    a = Assessment(
        person=person,
        instrument=inst.code,
        version=str(inst.version),
        answers=_json_safe(_answers_dict(inst, answers)),
        total=result.total,
        band=result.band or "",
        band_label=str(getattr(result, "band_label", "") or "")[:120],
        positive=bool(result.positive),
        critical=_critical(result),
        subscales=_json_safe(getattr(result, "subscales", None) or {}),
        mode=mode,
        entered_by=entered_by,
        area_code=area_for(person, campaign, area_code),
        campaign=campaign,
        site=site[:200],
        created_at=now,
        submitted_at=submitted_at,
        idempotency_key=idempotency_key or None,
    )
    if existing is not None:
        return _same_submission(existing, a)
    previous = previous_total(person, inst.code, submitted_at)
    try:
        with transaction.atomic():
            fastsql.insert(a)
            audit.record(
                "screening.assessment.submit",
                a,
                actor=actor,
                changed_fields=["answers"],
                reason=_mode_label(a.mode),
            )
            outbox.emit_event(AssessmentScored.of(a, previous))
    except IntegrityError:
        if idempotency_key:  # the same row, submitted concurrently: the first one won
            existing = Assessment.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                return _same_submission(existing, a)
        raise
    return a


def submit_for_id_number(
    *,
    actor,
    instrument_code: str,
    id_number: str,
    answer_codes: str,
    mode: str = Mode.PAPER,
    version: str | None = None,
    site: str = "",
    submitted_at: dt.datetime | None = None,
    idempotency_key: str | None = None,
) -> Assessment:
    """Staff entry for a person named by ID number (paper forms, the API): the person must be
    in the actor's scope; every problem is a ScreeningError naming its field."""
    if mode not in {Mode.PAPER, Mode.INTERVIEW}:
        raise ScreeningError(_("未知的录入方式"), field="mode")
    inst = instrument(instrument_code, version)
    try:
        number = idnumber.validate(id_number)
    except idnumber.InvalidIdNumber as exc:
        raise ScreeningError(str(exc), field="id_number") from None
    person = scope.find_person(actor, id_number_hash=crypto.lookup_hash(number))
    if person is None:
        raise ScreeningError(_("查无此人或不在您的管辖范围内，请先建档"), field="id_number")
    if idempotency_key:
        # Per actor: another system's key must never return (or block) this one's row.
        idempotency_key = hashlib.sha256(f"entry:{actor.pk}:{idempotency_key}".encode()).hexdigest()
    return submit_assessment(
        instrument_code=inst.code,
        version=str(inst.version),
        answers=parse_codes(inst, answer_codes),
        mode=mode,
        actor=actor,
        person=person,
        site=site,
        submitted_at=submitted_at,
        idempotency_key=idempotency_key,
    )


# ---------------------------------------------------------------- reading, through the scope gate


def assessments_for(user) -> QuerySet:
    """Assessments of people the user may list (anonymous ones are never person-level)."""
    return scope.filter_related(user, Assessment.objects.all(), person_path="person")


def get_assessment(user, pk) -> Assessment:
    try:
        return assessments_for(user).select_related("person", "person__home_area").get(pk=int(pk))
    except (Assessment.DoesNotExist, TypeError, ValueError):
        raise Http404 from None


def shows_scores(user, person) -> bool:
    return scope.detail_for(user, person) >= scope.Detail.SCORES


def resident_history(person, code: str | None = None) -> QuerySet:
    qs = Assessment.objects.for_person(person)
    return qs.filter(instrument=code) if code else qs


# ---------------------------------------------------------------- drafts (resume later)


def start_draft(inst, *, person=None, campaign: Campaign | None = None) -> AssessmentDraft:
    if not inst.text_installed:
        raise ScreeningError(_("该量表的条目文本未安装，不能自评，请由工作人员协助完成。"))
    return AssessmentDraft.objects.create(
        instrument=inst.code, version=str(inst.version), person=person, campaign=campaign
    )


def get_draft(token: str | None, code: str) -> AssessmentDraft | None:
    if not token:
        return None
    return AssessmentDraft.objects.filter(
        token=token, instrument=code, expires_at__gt=timezone.now()
    ).first()


def answer_item(draft: AssessmentDraft, inst, option_code: str) -> AssessmentDraft:
    items = list(inst.items)
    index = min(draft.current_item, len(items) - 1)
    item = items[index]
    codes = {str(o[0]): o[0] for o in item.options}
    if str(option_code) not in codes:
        raise ScreeningError(_("请选择一个选项"), field="answer")
    draft.answers[str(item.id)] = codes[str(option_code)]
    draft.current_item = index + 1
    draft.save(update_fields=["answers", "current_item", "updated_at"])
    return draft


def step_back(draft: AssessmentDraft) -> AssessmentDraft:
    draft.current_item = max(0, draft.current_item - 1)
    draft.save(update_fields=["current_item", "updated_at"])
    return draft


def finish_draft(draft: AssessmentDraft, inst, *, actor) -> Assessment:
    missing = [str(i.id) for i in inst.items if str(i.id) not in draft.answers]
    if missing:
        raise ScreeningError(_("还有题目未作答"))
    answers = {str(i.id): draft.answers[str(i.id)] for i in inst.items}
    with transaction.atomic():
        a = submit_assessment(
            instrument_code=inst.code,
            version=draft.version,
            answers=answers,
            mode=Mode.SELF,
            actor=actor,
            person=draft.person,
            campaign=draft.campaign,
        )
        draft.delete()
    return a


def instrument_choices(codes: Iterable[str] | None = None) -> list[tuple[str, str]]:
    wanted = set(codes) if codes is not None else None
    return [
        (i.code, f"{i.code} · {i.name_zh}")
        for i in instruments()
        if wanted is None or i.code in wanted
    ]
