"""Demo service network of 长宁区: sites in every town and most neighbourhoods, the talent
database with certificates and teams, and this year's trainings with attendance.

Deterministic from the seed and safe to re-run (rows are looked up by name before creating)."""

import datetime as dt
import math
import random
import zlib
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from xinan.accounts.models import User
from xinan.core.models import Area, AreaLevel, Institution
from xinan.network import services
from xinan.network.models import (
    Certificate,
    Course,
    Enrolment,
    Professional,
    ProfessionalKind,
    ServiceSite,
    SiteClosure,
    SiteType,
    Team,
    TeamKind,
    TrainingSession,
)
from xinan.people.models import PopulationTag

DISTRICT = "310105000000"
CENTRE = (31.2204, 121.4246)  # 长宁区
STREETS = [
    "长宁路",
    "愚园路",
    "延安西路",
    "天山路",
    "仙霞路",
    "虹桥路",
    "定西路",
    "遵义路",
    "哈密路",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖"
GIVEN = ["静", "敏", "磊", "婷", "洋", "杰", "丽", "华", "芳", "强", "颖", "晨", "悦", "宁", "博"]
SPECIALTIES = [
    "情绪与压力",
    "睡眠问题",
    "亲子关系",
    "青少年成长",
    "婚姻家庭",
    "老年心理",
    "职场压力",
    "哀伤辅导",
    "孕产期心理",
]
PRO_MIX = [
    (ProfessionalKind.COUNSELLOR, 3),
    (ProfessionalKind.SOCIAL_WORKER, 2),
    (ProfessionalKind.ADVISOR, 1),
    (ProfessionalKind.VOLUNTEER, 4),
]

STATION_HOURS = "周一至周五 9:00-17:00；周六 9:00-12:00"
LOUNGE_HOURS = "周一至周五 13:30-20:30；周六 9:00-17:00"
ROOM_HOURS = [
    "周二 14:00-17:00；周四 14:00-17:00",
    "周一 9:00-11:30；周三 14:00-17:00",
    "周五 9:00-17:00",
]


def _site(
    name,
    site_type,
    area,
    rng,
    *,
    hours,
    services_,
    institution=None,
    phone="",
    town_at=None,
    **extra,
):
    site = ServiceSite.objects.filter(area=area, name=name).first()
    if site is not None:
        return site
    lat0, lon0 = town_at or CENTRE
    site = ServiceSite(
        name=name,
        site_type=site_type,
        area=area,
        institution=institution,
        address=f"长宁区{rng.choice(STREETS)}{rng.randint(1, 1800)}号",
        phone=phone or f"021-6{rng.randint(1000000, 9999999)}",
        lat=round(lat0 + rng.uniform(-0.008, 0.008), 6),
        lon=round(lon0 + rng.uniform(-0.01, 0.01), 6),
        accessibility=rng.choice(["无障碍通道、一楼", "电梯可达", "一楼，有扶手", ""]),
        **extra,
    )
    return services.save_site(site, actor=None, hours=hours, services=services_)


def build_sites(rng: random.Random) -> int:
    district = Area.objects.get(code=DISTRICT)
    tags = {t.code: t for t in PopulationTag.objects.all()}
    mhc = Institution.objects.filter(name="长宁区精神卫生中心").first()
    _site(
        "长宁区心理援助热线",
        SiteType.HOTLINE,
        district,
        rng,
        hours="每天 0:00-24:00",
        services_=["hotline", "crisis"],
        phone="962525",
        description="24小时心理援助热线，危机时请立即拨打。",
    )
    _site(
        "长宁区精神卫生中心心理门诊",
        SiteType.HOSPITAL_CLINIC,
        district,
        rng,
        hours="周一至周六 8:00-16:30",
        services_=["counselling", "assessment", "referral", "family"],
        institution=mhc,
    )
    towns = list(Area.objects.filter(level=AreaLevel.TOWN, code__startswith="310105"))
    for i, town in enumerate(towns):
        angle = i / max(len(towns), 1) * 6.28
        at = (CENTRE[0] + 0.02 * math.sin(angle), CENTRE[1] + 0.03 * math.cos(angle))
        short = town.name.removesuffix("街道").removesuffix("镇").removesuffix("新村")
        chc = Institution.objects.filter(area=town, name__endswith="社区卫生服务中心").first()
        school = Institution.objects.filter(area=town, name__endswith="中学").first()
        station = _site(
            f"{short}心理驿站",
            SiteType.STATION,
            town,
            rng,
            hours=STATION_HOURS,
            services_=["counselling", "group", "assessment", "psychoeducation"],
            institution=chc,
            town_at=at,
        )
        station.populations.set([tags["elderly"], tags["worker"]] if "elderly" in tags else [])
        _site(
            f"{short}健心客厅",
            SiteType.LOUNGE,
            town,
            rng,
            hours=LOUNGE_HOURS,
            services_=["counselling", "psychoeducation", "family"],
            town_at=at,
        )
        _site(
            f"{short}社工站",
            SiteType.SOCIAL_WORK,
            town,
            rng,
            hours=STATION_HOURS,
            services_=["counselling", "referral", "family"],
            town_at=at,
        )
        if school:
            _site(
                f"{school.name}心理辅导室",
                SiteType.SCHOOL_ROOM,
                town,
                rng,
                hours="周一至周五 8:00-16:00",
                services_=["counselling", "assessment"],
                institution=school,
                town_at=at,
            )
        if i % 3 == 0:
            _site(
                f"{short}科技园职工心理服务室",
                SiteType.WORKPLACE_ROOM,
                town,
                rng,
                hours="周一至周五 12:00-19:00",
                services_=["counselling", "psychoeducation"],
                town_at=at,
            )
        villages = list(Area.objects.filter(level=AreaLevel.VILLAGE, parent=town))
        for v in villages:
            # Most neighbourhoods have a room; the rest are the gap (fixed by code: re-runs agree).
            if zlib.crc32(v.code.encode()) % 5:
                _site(
                    f"{v.name}心理咨询室",
                    SiteType.VILLAGE_ROOM,
                    v,
                    rng,
                    hours=rng.choice(ROOM_HOURS),
                    services_=["counselling", "psychoeducation"],
                    town_at=at,
                )
        SiteClosure.objects.get_or_create(
            site=station, date=dt.date(2027, 1, 1), defaults={"note": "元旦闭馆"}
        )
    return ServiceSite.objects.count()


def _name(rng) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(["", *GIVEN])


@transaction.atomic
def build_talent(rng: random.Random) -> int:
    today = timezone.localdate()
    district = Area.objects.get(code=DISTRICT)
    demo_counsellor = User.objects.filter(username="counsellor").first()
    if demo_counsellor and not Professional.objects.filter(user=demo_counsellor).exists():
        town = Area.objects.get(code="310105001000")
        p = Professional.objects.create(
            name="陈静",
            kind=ProfessionalKind.COUNSELLOR,
            user=demo_counsellor,
            area=town,
            specialties="情绪与压力、睡眠问题、老年心理",
            languages="普通话、上海话",
            bio="国家二级心理咨询师，从事社区心理服务8年。",
        )
        p.sites.set(ServiceSite.objects.filter(area=town, site_type=SiteType.STATION))
        Certificate.objects.create(
            professional=p,
            name="心理咨询师（二级）",
            number="SH2018-0231",
            issuer="上海市人力资源和社会保障局",
            issued_on=dt.date(2018, 6, 1),
            expires_on=today + dt.timedelta(days=20),  # lapses soon: the sweep warns
        )
    if Professional.objects.filter(area__code__startswith="310105").count() > 20:
        return Professional.objects.count()
    professionals = []
    for town in Area.objects.filter(level=AreaLevel.TOWN, code__startswith="310105"):
        sites = list(ServiceSite.objects.filter(area__code__startswith=town.prefix))
        for kind, n in PRO_MIX:
            for _i in range(n):
                p = Professional.objects.create(
                    name=_name(rng),
                    kind=kind,
                    area=town,
                    specialties="、".join(rng.sample(SPECIALTIES, 2)),
                    phone=f"021-5{rng.randint(1000000, 9999999)}",
                )
                p.sites.set(rng.sample(sites, min(2, len(sites))))
                professionals.append(p)
                if kind in (ProfessionalKind.COUNSELLOR, ProfessionalKind.SOCIAL_WORKER):
                    Certificate.objects.create(
                        professional=p,
                        name="心理咨询师"
                        if kind == ProfessionalKind.COUNSELLOR
                        else "社会工作者职业资格",
                        number=f"SH{rng.randint(2012, 2024)}-{p.pk:05d}",
                        issuer="上海市人力资源和社会保障局",
                        expires_on=today + dt.timedelta(days=rng.randint(15, 1500)),
                    )
    for kind, n in [
        (ProfessionalKind.PSYCHIATRIST, 6),
        (ProfessionalKind.PSYCHOTHERAPIST, 4),
        (ProfessionalKind.TEACHER, 8),
        (ProfessionalKind.HOTLINE_VOLUNTEER, 12),
    ]:
        for _i in range(n):
            professionals.append(
                Professional.objects.create(
                    name=_name(rng),
                    kind=kind,
                    area=district,
                    specialties="、".join(rng.sample(SPECIALTIES, 2)),
                )
            )
    teams = [
        (
            "长宁区心理危机干预队",
            TeamKind.CRISIS,
            [ProfessionalKind.PSYCHIATRIST, ProfessionalKind.PSYCHOTHERAPIST],
        ),
        ("长宁区心理援助热线志愿者队", TeamKind.HOTLINE, [ProfessionalKind.HOTLINE_VOLUNTEER]),
        ("长宁区心理服务志愿者队", TeamKind.VOLUNTEER, [ProfessionalKind.VOLUNTEER]),
    ]
    for name, kind, kinds in teams:
        team, _ = Team.objects.get_or_create(area=district, name=name, defaults={"kind": kind})
        team.members.set([p for p in professionals if p.kind in kinds])
    return Professional.objects.count()


@transaction.atomic
def build_trainings(rng: random.Random) -> int:
    district = Area.objects.get(code=DISTRICT)
    course, created = Course.objects.get_or_create(
        area=district,
        title="社区心理服务人员能力提升培训",
        defaults={"topic": "社区心理服务", "certificate_name": "结业证书"},
    )
    if not created:
        return Enrolment.objects.count()
    venue = ServiceSite.objects.filter(site_type=SiteType.HOSPITAL_CLINIC).first()
    now = timezone.now()
    topics = [
        ("心理危机识别与转介", "区精神卫生中心 赵医生", 3),
        ("常用心理量表的使用", "区精神卫生中心 钱医生", 2),
        ("社区心理咨询伦理", "长宁区心理健康促进会 孙老师", 2),
        ("老年人心理关爱", "复旦大学 周教授", 3),
    ]
    people = list(Professional.objects.filter(active=True))
    for i, (topic, trainer, hours) in enumerate(topics):
        starts = now - dt.timedelta(days=60 - i * 14)
        starts = starts.replace(hour=5, minute=30, second=0, microsecond=0)  # 13:30 in Shanghai
        session = TrainingSession.objects.create(
            course=course,
            topic=topic,
            trainer=trainer,
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=hours),
            hours=Decimal(hours),
            site=venue,
        )
        for p in rng.sample(people, min(len(people), 60)):
            Enrolment.objects.create(
                session=session,
                professional=p,
                attended_at=starts + dt.timedelta(minutes=rng.randint(-20, 10))
                if rng.random() < 0.85
                else None,
                method="qr",
            )
    return Enrolment.objects.count()


def build_demo(*, seed: int, stdout) -> None:
    rng = random.Random(seed + 15)
    sites = build_sites(rng)
    professionals = build_talent(rng)
    enrolments = build_trainings(rng)
    stdout.write(
        f"network: {sites} service sites, {professionals} professionals, "
        f"{enrolments} training enrolments"
    )
