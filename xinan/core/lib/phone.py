"""Mainland mobile and landline numbers as residents type them."""

import re

from django.utils.translation import gettext as _

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")
# A mobile number inside free text (an account name, an audit label or reason).
_MOBILE_IN_TEXT = re.compile(r"(?<!\d)(?:\+?86)?1[3-9]\d{9}(?!\d)")


class InvalidPhone(ValueError):
    pass


def validate(raw: str) -> str:
    number = re.sub(r"[\s\-()]", "", raw or "")
    if number.startswith("+86"):
        number = number[3:]
    if _MOBILE.match(number) or _LANDLINE.match(number):
        return number
    raise InvalidPhone(_("手机号应为11位，以1开头；座机请带区号"))


def mask(number: str) -> str:
    if len(number) <= 7:
        return "*" * len(number)
    return f"{number[:3]}{'*' * (len(number) - 7)}{number[-4:]}"


def mask_in_text(text: str) -> str:
    """The text with every mobile number in it masked (138****5678)."""
    if not text or not any(c.isdigit() for c in text):
        return text
    return _MOBILE_IN_TEXT.sub(lambda m: mask(m.group(0)[-11:]), text)
