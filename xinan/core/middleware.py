"""Request context that services read without threading the request through every call."""

import contextvars
import functools
import ipaddress
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

current_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_ip", default=None)


def client_ip(request: HttpRequest) -> str | None:
    """The address audit entries record.

    REMOTE_ADDR, unless XINAN_TRUST_X_FORWARDED_FOR is set and the request came from one of
    XINAN_TRUSTED_PROXIES: then X-Forwarded-For is read from the right (each proxy appends the
    address it received from) and the first hop that is not a trusted proxy is the client.
    Hops to its left were written by the client and prove nothing; a malformed hop stops the
    walk at the last address known to be real.
    """
    from django.conf import settings

    remote = request.META.get("REMOTE_ADDR") or None
    if not settings.TRUST_X_FORWARDED_FOR or remote is None:
        return remote
    proxies = _networks(tuple(settings.TRUSTED_PROXIES))
    if not _is_trusted(remote, proxies):
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    client = remote
    for hop in reversed(forwarded.split(",")):
        hop = hop.strip()
        try:
            address = ipaddress.ip_address(hop)
        except ValueError:
            break
        client = str(address)
        if not _is_trusted(client, proxies):
            break
    return client


@functools.cache
def _networks(entries: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _is_trusted(address: str, proxies: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


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
