import pytest

from xinan.core.lib import idnumber, phone


@pytest.mark.parametrize(
    "number", ["11010519491231002X", "440524188001010014", "53010219200508011X"]
)
def test_it_accepts_published_samples(number):
    assert idnumber.validate(number) == number


def test_it_normalises_lowercase_x_and_spaces():
    assert idnumber.validate(" 11010519491231002x ") == "11010519491231002X"


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("110105194912310021", "校验位"),
        ("1101051949123100", "18位"),
        ("110105194913310028", "出生日期"),
        ("110105491231002", "15位"),
        ("11010519491231002Y", "18位"),
    ],
)
def test_it_rejects_bad_numbers_with_a_reason(number, message):
    with pytest.raises(idnumber.InvalidIdNumber, match=message):
        idnumber.validate(number)


def test_it_masks_all_but_first_and_last_four():
    assert idnumber.mask("11010519491231002X") == "1101**********002X"


def test_it_reads_gender_and_birth_date():
    assert idnumber.gender("11010519491231002X") == "F"
    assert idnumber.birth_date("11010519491231002X").isoformat() == "1949-12-31"


@pytest.mark.parametrize("raw", ["13912345678", "139 1234 5678", "+8613912345678", "02162345678"])
def test_it_accepts_phone_numbers(raw):
    assert phone.validate(raw).isdigit()


@pytest.mark.parametrize("raw", ["12345", "23912345678", "1391234567a", ""])
def test_it_rejects_bad_phone_numbers(raw):
    with pytest.raises(phone.InvalidPhone, match="手机号"):
        phone.validate(raw)


def test_it_masks_phones():
    assert phone.mask("13912345678") == "139****5678"
