"""The REST API, with its OpenAPI description at /api/v1/docs (staff only)."""

import functools

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import django_auth

from xinan.api.auth import BearerToken, TwoFactorRequired


def staff_only(view):
    """The schema and the docs page are for logged-in staff: they are the map of what the
    platform accepts, and nobody else builds against it (docs/api.md)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not user.is_staff_member:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


api = NinjaAPI(
    title="心安 xinan API",
    version="1",
    urls_namespace="api",
    auth=[BearerToken(), django_auth],
    docs_url="/docs",
    docs_decorator=staff_only,
)


@api.exception_handler(AuthenticationError)
def unauthorised(request, exc):
    if isinstance(exc, TwoFactorRequired):
        return api.create_response(
            request,
            {
                "detail": _(
                    "本平台要求工作人员启用两步验证：请令牌所代表的用户先登录网页完成两步验证设置，"
                    "之后令牌即可使用"
                ),
                "code": "two_factor_required",
            },
            status=403,
        )
    return api.create_response(request, {"detail": _("未登录或令牌无效")}, status=401)


@api.exception_handler(ValidationError)
def invalid(request, exc):
    return api.create_response(
        request,
        {
            "detail": _("提交的数据格式不对"),
            "errors": [
                {"field": ".".join(str(p) for p in e.get("loc", ())[1:]), "message": e.get("msg")}
                for e in exc.errors
            ],
        },
        status=422,
    )


def _routers() -> None:
    from xinan.screening.api import router as screening

    api.add_router("/screening", screening)


_routers()
