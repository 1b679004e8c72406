"""Requests to the API that carry a bearer token go through a shorter middleware stack.

A token-authenticated call has no session, no CSRF token, no flash messages and no browser
two-factor step, and it returns JSON, not a page: most of the site's middleware does nothing
for it but still costs time on every call (about a tenth of a submission's, measured). Such
requests are handed to a second Django handler built from `API_MIDDLEWARE`; the same URLs,
views, language choice, security headers and audit context apply. Everything else, the API
used from a logged-in browser (the docs page's "Try it out") included, goes through the full
stack.
"""

from collections.abc import Callable, Iterable

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

API_PREFIX = "/api/"

# Middleware of the site (settings.MIDDLEWARE) that token calls skip on purpose, each with the
# reason. A middleware in MIDDLEWARE that is neither here nor in API_MIDDLEWARE fails a system
# check (xinan.E401, xinan/api/checks.py): a new site-wide rule is never silently missing from
# the API.
SITE_ONLY_MIDDLEWARE = {
    "whitenoise.middleware.WhiteNoiseMiddleware": "static files are not under /api/",
    "django.contrib.sessions.middleware.SessionMiddleware": "a token call carries no session",
    "django.middleware.locale.LocaleMiddleware": "token_request picks the language itself",
    "django.middleware.common.CommonMiddleware": "the API's URLs are exact; no slash redirects",
    "django.middleware.csrf.CsrfViewMiddleware": "a bearer token is not sent by the browser",
    "django.contrib.auth.middleware.AuthenticationMiddleware": "the token check sets the user",
    "django.contrib.messages.middleware.MessageMiddleware": "JSON answers carry no messages",
    "django.middleware.clickjacking.XFrameOptionsMiddleware": "token_request sends DENY",
    "django.middleware.csp.ContentSecurityPolicyMiddleware": "token_request sets API_CSP",
    "xinan.accounts.middleware.enforce_two_factor": (
        "the API's token check refuses staff without two-factor itself (api/api.py)"
    ),
}

# For a JSON response: nothing may load from it, nothing may frame it.
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def token_request(get_response: Callable[[HttpRequest], HttpResponse]):
    """The part of the full stack a token call still needs: no session user, its language,
    strict headers.

    The language is chosen as LocaleMiddleware chooses it on a site without language prefixes
    in its URLs (the cookie, Accept-Language where honoured, else LANGUAGE_CODE), without that
    middleware's two URL-prefix checks per call.
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        request.user = AnonymousUser()  # the token check sets the real one
        translation.activate(translation.get_language_from_request(request))
        request.LANGUAGE_CODE = language = translation.get_language()
        response = get_response(request)
        patch_vary_headers(response, ("Accept-Language",))
        headers = response.headers
        headers.setdefault("Content-Language", language)
        headers.setdefault("Content-Security-Policy", API_CSP)
        headers.setdefault("X-Frame-Options", "DENY")
        return response

    return middleware


class ApiHandler(WSGIHandler):
    """A WSGI handler whose middleware is `settings.API_MIDDLEWARE`."""

    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler reads settings.MIDDLEWARE; lend it the API list while it builds the chain
        # (once, at start-up, before any request thread runs).
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.API_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full

    def get_response(self, request: HttpRequest) -> HttpResponse:
        response = super().get_response(request)
        if response.status_code >= 500 and not response.get("Content-Type", "").startswith(
            "application/json"
        ):
            # An error outside the API's own handlers (a middleware, the database gone before
            # the view ran): still JSON, never the site's HTML error page.
            response = JsonResponse(
                {"detail": _("服务器暂时出错，请稍后重试"), "code": "server_error"},
                status=response.status_code,
                json_dumps_params={"ensure_ascii": False},
            )
        return response


def is_token_call(environ: dict) -> bool:
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    return environ.get("PATH_INFO", "").startswith(API_PREFIX) and (
        authorization[:7].lower() == "bearer "
    )


def with_token_calls(site: Callable, api: Callable | None = None) -> Callable:
    """The WSGI application: token calls to the API to `api`, everything else to `site`."""
    api = api or ApiHandler()

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        handler = api if is_token_call(environ) else site
        return handler(environ, start_response)

    return application
