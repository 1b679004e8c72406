"""people's part of the walk-every-URL test (xinan/testing/scope_walk.py): a resident of the
other district with a record, an account, a consent and a break-the-glass grant of its own staff."""

import datetime as dt

from django.utils import timezone

from xinan.core import scope
from xinan.core.lib import idnumber
from xinan.core.models import AccessGrant
from xinan.people.models import Consent, Person
from xinan.testing import factories
from xinan.testing.scope_walk import Hidden, Page, World

ID_NUMBER = "31010419750505123" + idnumber.check_digit("31010419750505123")


def build(world: World) -> None:
    account = factories.UserFactory(username="xh_resident_account")
    person = factories.PersonFactory(
        name="徐汇居民赵六",
        home_area=world.grid,
        id_number=ID_NUMBER,
        phone="13811112222",
        address="徐汇区永嘉路1号",
        notes="外区档案备注XH",
        user=account,
    )
    world.add("person", person)
    world.add("resident", account)
    world.secret(
        person.name,
        person.id_number,
        person.id_number_masked,
        person.phone,
        person.address,
        person.notes,
    )
    world.add(
        "consent",
        Consent.objects.create(
            person=person, kind="assessment", granted=True, recorded_by=world.staff
        ),
    )
    world.add(
        "grant",
        scope.grant_access(
            person,
            to_user=world.staff,
            kind="break_glass",
            reason="外区紧急理由XH",
            source="walk",
            expires_at=timezone.now() + dt.timedelta(hours=4),
            actor=world.staff,
        ),
    )
    world.secret("外区紧急理由XH")
    world.watch(
        "records of the other district", Person.objects.filter(home_area__code__startswith="310104")
    )
    world.watch("its consents", Consent.objects.filter(person=person))
    world.watch("its grants", AccessGrant.objects.filter(person=person))


URLS = {
    "people:list": Page(data=lambda w: {"q": w.person.id_number_masked[-4:]}),
    "people:create": Page(
        data=lambda w: {"name": "越权建档", "gender": "M", "home_area": w.grid.code}
    ),
    "people:break_glass": Page(data=lambda w: {"token": str(w.person.pk), "reason": "短"}),
    "people:detail": Hidden(lambda w: {"pk": w.person.pk}),
    "people:edit": Hidden(
        lambda w: {"pk": w.person.pk},
        data=lambda w: {"name": "越权改名", "gender": "F", "home_area": w.grid.code},
    ),
    "people:privacy": Hidden(
        lambda w: {"pk": w.person.pk},
        data=lambda w: {"action": "erase", "reason": "越权删除申请", "confirm": "on"},
    ),
    "people:consent_add": Hidden(
        lambda w: {"pk": w.person.pk}, data=lambda w: {"kind": "screening", "granted": "on"}
    ),
}
