"""居民身份证号 (GB 11643-1999): structure, birth date and the ISO 7064 MOD 11-2 check digit."""

import datetime as dt
import re

from django.utils.translation import gettext as _

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_PATTERN = re.compile(r"^\d{17}[\dX]$")


class InvalidIdNumber(ValueError):
    pass


def normalize(raw: str) -> str:
    # OCR and hand entry often give a lowercase x and stray spaces.
    return re.sub(r"\s+", "", raw or "").upper()


def check_digit(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def validate(raw: str) -> str:
    """Return the normalised 18-character number or raise InvalidIdNumber with a Chinese reason."""
    number = normalize(raw)
    if len(number) == 15 and number.isdigit():
        raise InvalidIdNumber(_("15位旧身份证号请升级为18位后再录入"))
    if not _PATTERN.match(number):
        raise InvalidIdNumber(_("身份证号应为18位，前17位为数字，最后一位为数字或X"))
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdNumber(_("身份证号中的出生日期无效")) from None
    if check_digit(number[:17]) != number[17]:
        raise InvalidIdNumber(_("身份证号校验位不正确，请核对"))
    return number


def birth_date(number: str) -> dt.date:
    return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def gender(number: str) -> str:
    """'M' or 'F' from the parity of the sequence code."""
    return "M" if int(number[16]) % 2 else "F"


def mask(number: str) -> str:
    return f"{number[:4]}{'*' * (len(number) - 8)}{number[-4:]}"
