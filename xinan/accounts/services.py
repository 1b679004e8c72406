"""Account verbs: register residents, create staff, manage two-factor."""

import datetime as dt
import hmac

import pyotp
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from xinan.accounts.models import Membership, Role, User
from xinan.core import audit
from xinan.core.lib import phone as phone_lib


class AccountError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def register_resident(*, phone: str, password: str, display_name: str = "") -> User:
    try:
        number = phone_lib.validate(phone)
    except phone_lib.InvalidPhone as exc:
        raise AccountError(_("手机号：") + str(exc)) from None
    user = User(username=number, phone=number, display_name=display_name)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise AccountError(_("密码：") + " ".join(exc.messages)) from None
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            Membership.objects.create(user=user, role=Role.RESIDENT)
            audit.record("accounts.resident.register", user, actor=user)
    except IntegrityError:
        raise AccountError(_("该手机号已注册，请直接登录")) from None
    return user


def create_staff(
    *, username: str, password: str, role: str, area=None, institution=None, display_name=""
) -> User:
    with transaction.atomic():
        user = User.objects.create_user(username=username, password=password)
        user.display_name = display_name
        user.save(update_fields=["display_name"])
        Membership.objects.create(user=user, role=role, area=area, institution=institution)
    return user


def start_totp_enrolment(user: User) -> str:
    """A fresh secret for the user to scan; confirmed only after a correct code."""
    secret = pyotp.random_base32()
    user.totp_secret = secret
    user.totp_confirmed = False
    user.totp_last_step = None
    user.save(update_fields=["totp_secret", "totp_confirmed", "totp_last_step"])
    return secret


def provisioning_uri(user: User, issuer: str) -> str:
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username, issuer_name=issuer)


def verify_totp(user: User, code: str, *, now: dt.datetime | None = None) -> bool:
    """True for a correct code not used before; the step is recorded so it cannot be replayed."""
    code = (code or "").strip().replace(" ", "")
    if not user.totp_secret or not code.isdigit() or len(code) != 6:
        return False
    totp = pyotp.TOTP(user.totp_secret)
    now = now or timezone.now()
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            # Conditional update: two requests with the same code cannot both succeed.
            accepted = (
                User.objects.filter(pk=user.pk)
                .filter(Q(totp_last_step__isnull=True) | Q(totp_last_step__lt=step))
                .update(totp_last_step=step)
            )
            if accepted:
                user.totp_last_step = step
            return bool(accepted)
    return False


def confirm_totp(user: User, code: str) -> None:
    if not verify_totp(user, code):
        raise AccountError(_("动态口令不正确，请重新输入"))
    with transaction.atomic():
        user.totp_confirmed = True
        user.save(update_fields=["totp_confirmed"])
        audit.record("accounts.totp.enable", user, actor=user, changed_fields=["totp_confirmed"])
