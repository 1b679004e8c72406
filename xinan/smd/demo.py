"""Demo registry: ~0.45% of the demo residents with realistic follow-up histories.

Idempotent: patients are created once (a resident already registered is skipped); the liaison
accounts are get-or-create. Dates are relative to today so the demo doctor's worklist always
has overdue, due and unstable patients.
"""

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from xinan.accounts.models import Membership, Role, User
from xinan.core.lib import areacode
from xinan.core.models import Area, Institution, InstitutionKind
from xinan.people.models import Person
from xinan.smd import rules, services
from xinan.smd.models import (
    DiagnosisReport,
    Drug,
    Emergency,
    FollowUp,
    Patient,
    PhysicalExam,
    ReportStatus,
)

RATE = 0.0045
DISTRICT = "310105"
DEMO_PASSWORD = "Xinan2026demo"  # noqa: S105 — the documented demo password (README)
LIAISONS = [
    ("zongzhi", Role.ZONGZHI, "综治专干 钱明"),
    ("police", Role.POLICE, "社区民警 周伟"),
    ("civil_affairs", Role.CIVIL_AFFAIRS, "民政专干 吴霞"),
    ("disability_liaison", Role.DISABILITY_LIAISON, "残联专职委员 郑琳"),
]
LIAISON_VILLAGE = "310105001001"  # the demo social worker's neighbourhood
DISORDERS = [
    ("F20", "F20.0", 60), ("F31", "F31.1", 14), ("F7x", "F71.1", 9), ("F22", "F22.0", 6),
    ("F25", "F25.0", 5), ("F06", "F06.2", 6),
]  # fmt: skip
DRUGS = {
    "F20": [("利培酮", "2mg", "每日2次"), ("奥氮平", "10mg", "每晚1次"),
            ("阿立哌唑", "10mg", "每日1次"), ("氯氮平", "100mg", "每日2次")],
    "F25": [("利培酮", "2mg", "每日2次"), ("碳酸锂", "0.25g", "每日3次")],
    "F22": [("奥氮平", "5mg", "每晚1次")],
    "F31": [("碳酸锂", "0.25g", "每日3次"), ("丙戊酸钠", "0.5g", "每日2次"),
            ("喹硫平", "200mg", "每晚1次")],
    "F06": [("丙戊酸钠", "0.5g", "每日2次"), ("卡马西平", "0.2g", "每日2次")],
    "F7x": [("利培酮", "1mg", "每日1次")],
}  # fmt: skip
# Profile → weight: how a patient's follow-ups tend to look.
PROFILES = [("stable", 62), ("basic", 18), ("unstable", 7), ("lapsed", 8), ("inpatient", 5)]
# The demo doctor's town always shows each kind of work.
FORCED = ["unstable", "overdue", "overdue", "basic", "stable", "stable", "lapsed", "inpatient"]


def _values(profile: str, rng: random.Random, last: bool) -> dict:
    v = {
        "reached": True, "mode": rng.choice(["home", "home", "outpatient", "phone"]),
        "risk_level": 0, "psychotic": "1", "insight": "1", "sleep": "1", "diet": "1",
        "social_self_care": "1", "social_housework": rng.choice("12"), "social_work": "9",
        "social_learning": "2", "social_contact": rng.choice("12"), "adherence": "1",
        "adverse": "0", "physical_illness": "0", "effect": "2", "hospitalisation": "0",
        "locking": "1",
    }  # fmt: skip
    if profile == "basic" or (profile == "stable" and rng.random() < 0.1):
        v.update(risk_level=rng.choice([0, 1]), insight="2", social_contact="3",
                 adherence=rng.choice("12"))  # fmt: skip
    if profile == "unstable" and (last or rng.random() < 0.3):
        v.update(risk_level=rng.choice([3, 3, 4]), psychotic="3", insight="3", adherence="3",
                 effect="4", mode="home", danger_minor=1)  # fmt: skip
    if profile == "lapsed":
        v.update(adherence=rng.choice("23"), mode="phone")
        if rng.random() < 0.4:
            v = {"reached": False, "mode": "phone", "not_reached_reason": "1"}
    if profile == "inpatient" and last:
        v.update(hospitalisation="1", mode="outpatient")
    return v


def _history(patient: Patient, profile: str, rng: random.Random, today: dt.date, rule_rows,
             cadences, doctor) -> list[tuple[FollowUp, list[Drug]]]:  # fmt: skip
    start = max(patient.registered_on, today - dt.timedelta(days=rng.randint(300, 420)))
    day = start + dt.timedelta(days=rng.randint(3, 20))
    made = []
    overdue = profile == "overdue"
    profile = "stable" if overdue else profile
    drugs = rng.sample(DRUGS[patient.disorder], k=min(2, len(DRUGS[patient.disorder])))
    while day <= today:
        v = _values(profile, rng, last=False)
        result = rules.classify(v, rule_rows)
        plan = rules.plan(result.classification, v.get("risk_level"), day, cadences)
        gap = plan.max_days - rng.randint(0, 12)
        if profile == "lapsed" and rng.random() < 0.3:
            gap += rng.randint(20, 60)  # the gaps that cost 规范管理
        following = day + dt.timedelta(days=gap)
        if following > today:  # the latest visit: make it show the profile
            v = _values(profile, rng, last=True)
            result = rules.classify(v, rule_rows)
            plan = rules.plan(result.classification, v.get("risk_level"), day, cadences)
            following = day + dt.timedelta(days=plan.max_days - rng.randint(0, 5))
        f = FollowUp(
            patient=patient, visit_date=day, computed_class=result.classification,
            fired_rules=result.fired, actions=plan.actions, next_visit_date=following,
            doctor=doctor, **v,
        )  # fmt: skip
        taking = v.get("reached") and v.get("adherence") in ("1", "2")
        made.append((f, [Drug(name=n, dose=d, frequency=q) for n, d, q in drugs] if taking else []))
        day = following
    if overdue and made:
        # Push the whole history back so the next visit fell due 3–20 days ago.
        shift = (made[-1][0].next_visit_date - today).days + rng.randint(3, 20)
        for f, _ in made:
            f.visit_date -= dt.timedelta(days=shift)
            f.next_visit_date -= dt.timedelta(days=shift)
        made = [(f, d) for f, d in made if f.visit_date >= patient.registered_on]
    return made


def _liaisons() -> None:
    village = Area.objects.filter(code=LIAISON_VILLAGE).first()
    if village is None:
        return
    for username, role, display in LIAISONS:
        user, created = User.objects.get_or_create(
            username=username, defaults={"display_name": display}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        Membership.objects.get_or_create(user=user, role=role, area=village)


def build_demo(*, seed: int, stdout) -> None:
    _liaisons()
    doctor = User.objects.filter(username="doctor").first()
    if (
        doctor is None
        or Patient.objects.filter(person__home_area__code__startswith=DISTRICT).exists()
    ):
        stdout.write("严重精神障碍演示数据已存在，跳过 / smd demo present, skipped")
        return
    rng = random.Random(seed + 14)
    today = timezone.localdate()
    doctor_chc = next(
        (m.institution for m in doctor.active_memberships() if m.institution_id), None
    )
    people = list(
        Person.objects.filter(home_area__code__startswith=DISTRICT, user__isnull=True)
        .select_related("home_area")
        .order_by("pk")
    )
    chosen = [p for p in people if rng.random() < RATE and (p.age or 30) >= 15]
    if doctor_chc is not None:  # a small demo still gives the demo doctor a day's work
        town = areacode.prefix(doctor_chc.area_id, "town")
        have = sum(1 for p in chosen if p.home_area_id.startswith(town))
        spare = [p for p in people if p.home_area_id.startswith(town) and p not in chosen
                 and (p.age or 30) >= 15]  # fmt: skip
        chosen += spare[: max(0, len(FORCED) - have)]
    chcs = {
        areacode.prefix(i.area_id, "town"): i
        for i in Institution.objects.filter(kind=InstitutionKind.CHC)
    }
    rule_rows = services.active_rules()
    cadences = services.cadences()
    forced = list(FORCED)
    histories = []
    with transaction.atomic():
        for person in chosen:
            code, icd, _w = rng.choices(DISORDERS, weights=[d[2] for d in DISORDERS])[0]
            registered = today - dt.timedelta(days=rng.randint(200, 3650))
            chc = chcs.get(areacode.prefix(person.home_area_id, "town"))
            mine = doctor_chc is not None and chc == doctor_chc
            profile = forced.pop(0) if mine and forced else rng.choices(
                [p for p, _ in PROFILES], weights=[w for _, w in PROFILES])[0]  # fmt: skip
            patient = Patient.objects.create(
                person=person, disorder=code, icd10_code=icd,
                diagnosis_institution="长宁区精神卫生中心",
                diagnosis_date=registered - dt.timedelta(days=rng.randint(5, 60)),
                registered_on=registered, managing_institution=chc,
                doctor=doctor if mine else None,
                guardian_name=rng.choice("王李张刘陈") + rng.choice(["建国", "秀英", "志强"]),
                guardian_relation=rng.choice(["父亲", "母亲", "配偶", "子女"]),
                guardian_phone=f"139{rng.randint(0, 99_999_999):08d}",
                village_contact_name="居委会 " + rng.choice(["陆", "沈", "顾"]) + "主任",
                household="urban", employment=rng.choice("44461"),
                consent_management=rng.random() < 0.9, consent_signed_by="监护人",
                consent_date=registered,
                onset_date=registered - dt.timedelta(days=rng.randint(200, 4000)),
                past_symptoms=rng.sample(["1", "3", "5", "10", "11"], 2),
                past_locking="1", outpatient_history=rng.choice("233"),
                inpatient_times=rng.randint(0, 4), economic_status=rng.choice(
                    ["not_poor", "not_poor", "not_poor", "poor"]),
                specialist_advice="坚持服药，定期门诊复查",
            )  # fmt: skip
            if chc is not None:
                person.institutions.add(chc)
            histories.append((patient, _history(patient, profile, rng, today, rule_rows,
                                                cadences, doctor)))  # fmt: skip
        follow_ups = [f for _, made in histories for f, _ in made]
        FollowUp.objects.bulk_create(follow_ups, batch_size=1000)
        Drug.objects.bulk_create(
            [
                Drug(follow_up=f, name=d.name, dose=d.dose, frequency=d.frequency)
                for _, made in histories
                for f, drugs in made
                for d in drugs
            ],
            batch_size=2000,
        )
        for patient, made in histories:
            if not made:
                continue
            last = made[-1][0]
            patient.last_follow_up_on = last.visit_date
            patient.current_class = last.computed_class
            patient.current_risk = next(
                (f.risk_level for f, _ in reversed(made) if f.reached), None
            )
            patient.next_due_on = last.next_visit_date
            patient.due_at = services.end_of(last.next_visit_date)
            patient.save(update_fields=["last_follow_up_on", "current_class", "current_risk",
                                        "next_due_on", "due_at"])  # fmt: skip
            if rng.random() < 0.75:
                exam_day = today - dt.timedelta(days=rng.randint(10, 200))
                if exam_day.year == today.year:
                    PhysicalExam.objects.create(
                        patient=patient, year=today.year, consent=True, consent_by="本人及监护人",
                        exam_date=exam_day, blood_routine="正常", glucose="5.6 mmol/L",
                        liver_function="正常", ecg="窦性心律", recorded_by=doctor,
                    )  # fmt: skip
        _emergencies_and_reports(histories, doctor, doctor_chc, rng)
    stdout.write(f"严重精神障碍患者 {len(histories)} 人，随访 {len(follow_ups)} 条")


def _emergencies_and_reports(histories, doctor, doctor_chc, rng) -> None:
    now = timezone.now()
    mine = [p for p, _ in histories if p.managing_institution == doctor_chc]
    unstable = [p for p in mine if p.current_class == "unstable"] or mine[:1]
    for patient in unstable[:1]:
        Emergency.objects.create(
            patient=patient, occurred_at=now - dt.timedelta(hours=5),
            triggers=["public_safety", "relapse"], risk_level=patient.current_risk or 3,
            involved=["police", "family", "doctor"], disposals=["admission"],
            hospital="长宁区精神卫生中心", description="家属报告患者在家砸物，民警协助送院",
            due_at=now + dt.timedelta(hours=19), recorded_by=doctor,
        )  # fmt: skip
    mhc = Institution.objects.filter(kind=InstitutionKind.MENTAL_HEALTH_CENTRE).first()
    psychiatrist = User.objects.filter(username="psychiatrist").first()
    if mhc is None or psychiatrist is None or doctor_chc is None:
        return
    registered = {p.person_id for p, _ in histories}
    candidates = list(
        Person.objects.filter(
            home_area__code__startswith=areacode.prefix(doctor_chc.area_id, "town"),
            user__isnull=True,
        )
        .exclude(pk__in=registered)
        .order_by("pk")[:40]
    )
    for n, person in enumerate(rng.sample(candidates, min(3, len(candidates)))):
        diagnosed = timezone.localdate() - dt.timedelta(days=[3, 9, 21][n])
        reported = now - dt.timedelta(days=[1, 5, 16][n])
        DiagnosisReport.objects.create(
            person=person, reporting_institution=mhc, disorder="F20", icd10_code="F20.0",
            diagnosis_date=diagnosed, reported_at=reported, reported_by=psychiatrist,
            report_due_on=services.add_working_days(diagnosed, 10),
            due_at=reported + dt.timedelta(days=14), status=ReportStatus.PENDING,
        )  # fmt: skip
