"""Log in by username or phone number, with lockout after repeated failures."""

import datetime as dt

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.db.models import F, Q
from django.utils import timezone

from xinan.accounts.models import User, phone_lookup_hash
from xinan.core.lib import phone as phone_lib


def _by_username_or_phone(identifier: str) -> Q:
    q = Q(username=identifier)
    try:
        number = phone_lib.validate(identifier)
    except phone_lib.InvalidPhone:
        return q
    # Phones are stored encrypted; the keyed hash is what a login matches.
    return q | Q(phone_hash=phone_lookup_hash(number))


class PhoneOrUsernameBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
            return None
        identifier = username.strip()
        user = User.objects.filter(_by_username_or_phone(identifier)).first()
        if user is None:
            # Spend the same time as a real check so timing does not reveal which accounts exist.
            User().set_password(password)
            return None
        now = timezone.now()
        if user.is_locked(now):
            if request is not None:
                request.login_locked_until = user.locked_until
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            if user.failed_logins or user.locked_until:
                User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
            return user
        User.objects.filter(pk=user.pk).update(failed_logins=F("failed_logins") + 1)
        user.refresh_from_db(fields=["failed_logins"])
        if user.failed_logins >= settings.LOGIN_MAX_FAILURES:
            until = now + dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
            User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=until)
            if request is not None:
                request.login_locked_until = until
        return None
