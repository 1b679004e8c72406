import pytest

from xinan.accounts.models import User
from xinan.core.lib import crypto, idnumber
from xinan.core.models import Area
from xinan.people import demo
from xinan.people.models import Person


@pytest.mark.django_db
def test_the_demo_builds_changning_and_is_safe_to_rerun():
    first = demo.build(seed=7, residents=300)
    assert Area.objects.filter(level="town", code__startswith="310105").count() == 10
    assert Area.objects.get(code="310105102000").name == "新泾镇"
    assert first.residents_created == 300
    names = list(Person.objects.order_by("id_number_hash").values_list("name", flat=True))
    again = demo.build(seed=7, residents=300)
    assert again.residents_created == 0 and Person.objects.count() == 300
    assert list(Person.objects.order_by("id_number_hash").values_list("name", flat=True)) == names
    for username, *_ in demo.DEMO_USERS:
        assert User.objects.get(username=username).check_password(demo.DEMO_PASSWORD)
    sample = Person.objects.order_by("pk").first()
    assert idnumber.validate(sample.id_number) == sample.id_number
    assert Person.objects.filter(tags__code="elderly").exists()
    # The demo resident's account: found by the phone's keyed hash, the number not in clear.
    resident = Person.objects.get(user__phone_hash=crypto.lookup_hash("13800000000")).user
    assert resident.phone == "13800000000" and "13800000000" not in resident.username
