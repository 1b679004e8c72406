"""Request context that services read without threading the request through every call."""

import contextvars
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

current_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_ip", default=None)


def client_ip(request: HttpRequest) -> str | None:
    # Behind a proxy set XINAN_TRUST_X_FORWARDED_FOR; the raw header is client-controlled.
    from django.conf import settings

    if getattr(settings, "TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR") or None


def request_context(get_response: Callable[[HttpRequest], HttpResponse]):
    def middleware(request: HttpRequest) -> HttpResponse:
        token = current_ip.set(client_ip(request))
        try:
            return get_response(request)
        finally:
            current_ip.reset(token)

    return middleware


def chinese_first(get_response: Callable[[HttpRequest], HttpResponse]):
    """Serve zh-hans unless the person chose another language with the switcher.

    Browsers and WeChat often send en-US even for Chinese users; the explicit choice (cookie)
    is what counts. Set XINAN_BROWSER_LANGUAGE=true to honour Accept-Language instead.
    """
    from django.conf import settings

    def middleware(request: HttpRequest) -> HttpResponse:
        if not settings.HONOUR_BROWSER_LANGUAGE:
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return get_response(request)

    return middleware
