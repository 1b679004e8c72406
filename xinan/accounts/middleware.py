"""Staff without two-factor are sent to enrol when the deployment requires it."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

ALLOWED_PREFIXES = ("/accounts/", "/static/", "/healthz", "/i18n/")


def enforce_two_factor(get_response: Callable[[HttpRequest], HttpResponse]):
    def middleware(request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            settings.REQUIRE_STAFF_2FA
            and user.is_authenticated
            and not user.totp_confirmed
            and user.is_staff_member
            and not request.path.startswith(ALLOWED_PREFIXES)
        ):
            return redirect("accounts:totp_setup")
        return get_response(request)

    return middleware
