"""The demo district: 上海市长宁区 with real towns, generated neighbourhoods, staff and residents.

Deterministic from a seed, and safe to re-run: existing rows are kept, missing ones added.
"""

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from xinan.accounts.models import Membership, Role, User, phone_lookup_hash, resident_username
from xinan.core import services as core_services
from xinan.core.lib import areacode, crypto, idnumber
from xinan.core.lib import phone as phone_lib
from xinan.core.models import Area, AreaLevel, Institution, InstitutionKind
from xinan.people.models import Person, PopulationTag

AREAS_CSV = Path(__file__).resolve().parent.parent / "core" / "data" / "areas-310105.csv"
DEMO_PASSWORD = "Xinan2026demo"  # noqa: S105 — documented in README; demo deployments only
DISTRICT = "310105000000"

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余"
    "于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红娥建国建华志强海燕"
    "小红晓明丽娟文博思远子涵欣怡浩然雨桐梓轩一诺佳怡俊杰宇航晨曦"
)
PLACES = [
    "安顺",
    "长宁",
    "虹桥",
    "仙霞",
    "天山",
    "古北",
    "新华",
    "愚园",
    "武夷",
    "延安",
    "定西",
    "遵义",
    "哈密",
    "茅台",
    "剑河",
    "水城",
    "玉屏",
    "娄山",
    "芙蓉",
    "淞虹",
    "福泉",
    "金钟",
    "协和",
    "北虹",
    "绿园",
    "程桥",
    "新泾",
    "平塘",
    "宣化",
    "番禺",
]


@dataclass
class DemoSummary:
    areas: int
    institutions: int
    users: int
    residents_created: int


def _given_names(rng: random.Random) -> str:
    pool = [GIVEN[i : i + 2] for i in range(0, len(GIVEN) - 1, 2)] + list(GIVEN[:20])
    return rng.choice(pool)


def build_areas(rng: random.Random) -> list[Area]:
    if not Area.objects.filter(code=DISTRICT).exists():
        core_services.import_areas(AREAS_CSV.read_text(encoding="utf-8"), actor=None)
    Area.objects.filter(code="310000000000", hotline="").update(hotline="962525")
    towns = list(Area.objects.filter(level=AreaLevel.TOWN, code__startswith="310105"))
    grids = []
    for town in towns:
        count = rng.randint(6, 10)
        places = rng.sample(PLACES, count)
        for n in range(1, count + 1):
            code = areacode.child(town.code, "town", n)
            village, _ = Area.objects.get_or_create(
                code=code,
                defaults={
                    "name": f"{places[n - 1]}居委会",
                    "level": AreaLevel.VILLAGE,
                    "parent": town,
                },
            )
            for g in range(1, 4):
                grid, _ = Area.objects.get_or_create(
                    code=areacode.child(code, "village", g),
                    defaults={
                        "name": f"{village.name}第{g}网格",
                        "level": AreaLevel.GRID,
                        "parent": village,
                    },
                )
                grids.append(grid)
    return grids


def build_institutions() -> dict[str, Institution]:
    district = Area.objects.get(code=DISTRICT)
    made = {}
    fixed = [
        ("mhc", "长宁区精神卫生中心", InstitutionKind.MENTAL_HEALTH_CENTRE, district),
        ("hospital", "长宁区中心医院", InstitutionKind.GENERAL_HOSPITAL, district),
        ("gov", "长宁区卫生健康委员会", InstitutionKind.GOVERNMENT, district),
        ("social_org", "长宁区心理健康促进会", InstitutionKind.SOCIAL_ORGANISATION, district),
    ]
    for key, name, kind, area in fixed:
        made[key], _ = Institution.objects.get_or_create(
            area=area, name=name, defaults={"kind": kind}
        )
    for town in Area.objects.filter(level=AreaLevel.TOWN, code__startswith="310105"):
        short = town.name.removesuffix("街道").removesuffix("镇").removesuffix("新村")
        chc, _ = Institution.objects.get_or_create(
            area=town, name=f"{town.name}社区卫生服务中心", defaults={"kind": InstitutionKind.CHC}
        )
        made.setdefault("chc", chc)
        school, _ = Institution.objects.get_or_create(
            area=town, name=f"{short}中学", defaults={"kind": InstitutionKind.SCHOOL}
        )
        made.setdefault("school", school)
        Institution.objects.get_or_create(
            area=town,
            name=f"{short}科技园企业服务中心",
            defaults={"kind": InstitutionKind.ENTERPRISE},
        )
    return made


DEMO_USERS = [
    # username, role, area code or institution key, display name
    ("grid_worker", Role.GRID_WORKER, "310105001001001", "网格员 王芳"),
    ("grid_worker_xinjing", Role.GRID_WORKER, "310105102001001", "网格员 李强（新泾镇）"),
    ("social_worker", Role.SOCIAL_WORKER, "310105001001", "社工 张敏"),
    ("counsellor", Role.COUNSELLOR, "310105001000", "心理咨询师 陈静"),
    ("doctor", Role.DOCTOR, "inst:chc", "精防医生 刘洋"),
    ("psychiatrist", Role.PSYCHIATRIST, "310105000000", "精神科医生 赵磊"),
    ("crisis_worker", Role.CRISIS_WORKER, "310105000000", "危机干预员 孙杰"),
    ("town_admin", Role.AREA_ADMIN, "310105001000", "华阳路街道管理员"),
    ("district_admin", Role.AREA_ADMIN, "310105000000", "长宁区管理员"),
    ("sysadmin", Role.SYSADMIN, None, "系统管理员"),
]


def build_users(institutions: dict[str, Institution]) -> int:
    count = 0
    for username, role, where, display in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username, defaults={"display_name": display}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            if role == Role.SYSADMIN:
                user.is_staff = user.is_superuser = True
            user.save()
        area = institution = None
        if where and where.startswith("inst:"):
            institution = institutions[where[5:]]
        elif where:
            area = Area.objects.get(code=where)
        Membership.objects.get_or_create(user=user, role=role, area=area, institution=institution)
        count += 1
    return count


def _id_number(birth: dt.date, female: bool, serial: int, taken: set[str]) -> str:
    """A valid, unused number: district 310105, the birth date, a sequence of the right parity."""
    seq = (serial % 499) * 2 + (0 if female else 1)
    while True:
        first17 = f"310105{birth:%Y%m%d}{seq % 1000:03d}"
        number = first17 + idnumber.check_digit(first17)
        if number not in taken:
            taken.add(number)
            return number
        seq += 2


def build_residents(rng: random.Random, grids: list[Area], count: int) -> int:
    today = dt.date(2026, 11, 1)  # fixed so the demo is the same whenever it is built
    tags = {t.code: t for t in PopulationTag.objects.all()}
    existing = set(Person.objects.values_list("id_number_hash", flat=True))
    people, person_tags = [], []
    specials = [c for c, t in tags.items() if t.special]
    taken: set[str] = set()
    for serial in range(count):
        female = rng.random() < 0.51
        age_days = int(rng.triangular(0, 95, 42) * 365.25)
        birth = today - dt.timedelta(days=age_days)
        number = _id_number(birth, female, serial, taken)
        id_hash = crypto.lookup_hash(number)
        phone = f"1{rng.choice('3578')}{rng.randint(0, 999_999_999):09d}"
        age = age_days // 365
        chosen = []
        if age >= 60:
            chosen.append("elderly")
            if rng.random() < 0.2:
                chosen.append("empty_nest")
        if age < 18:
            chosen.append("child_adolescent")
        if female and 22 <= age <= 40 and rng.random() < 0.06:
            chosen.append("perinatal")
        if 18 <= age < 60 and rng.random() < 0.45:
            chosen.append("worker")
        if rng.random() < 0.02:
            chosen.append("disabled")
        if rng.random() < 0.01:
            chosen.append(rng.choice(specials))
        grid = rng.choice(grids)
        name = rng.choice(SURNAMES) + _given_names(rng)
        attention = rng.random() < 0.03
        if id_hash in existing:
            continue
        people.append(
            Person(
                name=name,
                gender="F" if female else "M",
                birth_date=birth,
                id_number=number,
                id_number_hash=id_hash,
                id_number_masked=idnumber.mask(number),
                phone=phone,
                phone_hash=crypto.lookup_hash(phone),
                phone_masked=phone_lib.mask(phone),
                home_area=grid,
                needs_attention=attention,
            )
        )
        person_tags.append(chosen)
    with transaction.atomic():
        created = Person.objects.bulk_create(people, batch_size=2000)
        through = Person.tags.through
        through.objects.bulk_create(
            [
                through(person_id=p.pk, populationtag_id=code)
                for p, codes in zip(created, person_tags, strict=True)
                for code in codes
            ],
            batch_size=5000,
        )
    return len(created)


def link_resident_user() -> None:
    """The demo resident account owns one record, so 'my' pages have something to show."""
    number = "13800000000"
    user = User.objects.filter(phone_hash=phone_lookup_hash(number)).first()
    if user is None:
        user = User(username=resident_username(number), display_name="居民 周丽")
        user.set_phone(number)
        user.set_password(DEMO_PASSWORD)
        user.save()
    Membership.objects.get_or_create(user=user, role=Role.RESIDENT)
    if not Person.objects.filter(user=user).exists():
        person = Person.objects.filter(user__isnull=True, home_area__code__startswith="310105001")
        person = person.order_by("pk").first()
        if person:
            person.user = user
            person.name = "周丽"
            person.save(update_fields=["user", "name"])


def build(seed: int = 2019, residents: int = 20_000) -> DemoSummary:
    rng = random.Random(seed)
    grids = build_areas(rng)
    institutions = build_institutions()
    users = build_users(institutions)
    created = build_residents(random.Random(seed + 1), grids, residents)
    link_resident_user()
    return DemoSummary(
        areas=Area.objects.count(),
        institutions=Institution.objects.count(),
        users=users,
        residents_created=created,
    )
