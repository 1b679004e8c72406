"""Bearer-token authentication for the API (a logged-in browser session works too)."""

from django.conf import settings
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer

from xinan.api import services


class BearerToken(HttpBearer):
    def __call__(self, request):
        # The header straight from the WSGI environ: `request.headers` would first build a
        # mapping of every header, on every call.
        scheme, _, key = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != self.openapi_scheme or not key:
            return None
        return self.authenticate(request, key.strip())

    def authenticate(self, request, token: str):
        user = services.authenticate(token)
        if user is None:
            # A wrong key is a 401 now, not a fall-through to the session check's CSRF error.
            raise AuthenticationError
        if settings.REQUIRE_STAFF_2FA and not user.totp_confirmed and user.is_staff_member:
            # The deployment requires two-factor for staff: a token does not get around it.
            raise TwoFactorRequired
        request.user = user
        return user


class TwoFactorRequired(AuthenticationError):
    """A staff user's token while the deployment requires two-factor and they have none."""
