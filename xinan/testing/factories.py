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
