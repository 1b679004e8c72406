"""Factories for tests: areas, users with memberships, people."""

import itertools

import factory

from xinan.accounts.models import Membership, User
from xinan.core.lib import crypto, idnumber
from xinan.core.lib import phone as phone_lib
from xinan.core.models import Area, AreaLevel, Institution, InstitutionKind
from xinan.people.models import Person

_serial = itertools.count(1)


def valid_id_number(birth: str = "19800101", female: bool = False) -> str:
    """A fresh, valid 身份证号 in district 310105 for the given birth date."""
    n = next(_serial)
    seq = (n % 499) * 2 + (0 if female else 1)
    first17 = f"310105{birth}{seq:03d}"
    return first17 + idnumber.check_digit(first17)


def area(code: str, name: str, level: str, parent: Area | None = None) -> Area:
    obj, _ = Area.objects.get_or_create(
        code=code, defaults={"name": name, "level": level, "parent": parent}
    )
    return obj


def area_tree() -> dict[str, Area]:
    """Shanghai → 长宁区 → two towns → a village each → a grid each."""
    city = area("310000000000", "上海市", AreaLevel.CITY)
    district = area("310105000000", "长宁区", AreaLevel.DISTRICT, city)
    town_a = area("310105001000", "华阳路街道", AreaLevel.TOWN, district)
    town_b = area("310105102000", "新泾镇", AreaLevel.TOWN, district)
    village_a = area("310105001001", "安顺居委会", AreaLevel.VILLAGE, town_a)
    village_b = area("310105102001", "淞虹居委会", AreaLevel.VILLAGE, town_b)
    grid_a = area("310105001001001", "安顺居委会第1网格", AreaLevel.GRID, village_a)
    grid_a2 = area("310105001001002", "安顺居委会第2网格", AreaLevel.GRID, village_a)
    grid_b = area("310105102001001", "淞虹居委会第1网格", AreaLevel.GRID, village_b)
    return locals()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "Passw0rd-test")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


def staff(role: str, *, area: Area | None = None, institution=None, **kwargs) -> User:
    user = UserFactory(**kwargs)
    Membership.objects.create(user=user, role=role, area=area, institution=institution)
    return user


def institution(area: Area, name: str = "社区卫生服务中心", kind=InstitutionKind.CHC):
    return Institution.objects.create(area=area, name=name, kind=kind)


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    name = factory.Sequence(lambda n: f"居民{n}")
    gender = "M"
    birth_date = None
    home_area = None

    @classmethod
    def _create(cls, model_class, *args, id_number: str = "", phone: str = "", **kwargs):
        if id_number:
            kwargs.update(
                id_number=id_number,
                id_number_hash=crypto.lookup_hash(id_number),
                id_number_masked=idnumber.mask(id_number),
                birth_date=kwargs.get("birth_date") or idnumber.birth_date(id_number),
            )
        if phone:
            kwargs.update(
                phone=phone,
                phone_hash=crypto.lookup_hash(phone),
                phone_masked=phone_lib.mask(phone),
            )
        return super()._create(model_class, *args, **kwargs)


def service_site(
    area: Area,
    name: str = "心理驿站",
    *,
    site_type: str = "station",
    hours: str = "每天 0:00-24:00",
    services=("counselling",),
    **fields,
):
    """A service site (xinan.network) with weekly opening hours."""
    from xinan.network import services as network_services
    from xinan.network.models import ServiceSite

    site = ServiceSite(area=area, name=name, site_type=site_type, **fields)
    return network_services.save_site(site, actor=None, hours=hours, services=list(services))


def counsellor_with_hours(
    area: Area, site=None, *, username: str = "counsellor_site", weekdays=range(7), **rule
):
    """A counsellor with weekly availability at `site` (or online by phone) from today."""
    import datetime as dt

    from django.utils import timezone

    from xinan.booking import services as booking_services
    from xinan.booking.models import Availability

    user = staff("counsellor", area=area, username=username, display_name=f"{username}老师")
    for weekday in weekdays:
        booking_services.set_availability(
            Availability(
                counsellor=user,
                mode="site" if site else "phone",
                site=site,
                weekday=weekday,
                start=rule.get("start", dt.time(9, 0)),
                end=rule.get("end", dt.time(17, 0)),
                slot_minutes=rule.get("slot_minutes", 50),
                buffer_minutes=rule.get("buffer_minutes", 10),
                daily_limit=rule.get("daily_limit", 8),
                valid_from=timezone.localdate() - dt.timedelta(days=1),
            ),
            actor=user,
        )
    return user
