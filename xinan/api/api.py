"""The REST API, with its OpenAPI description at /api/v1/docs."""

from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import django_auth

from xinan.api.auth import BearerToken, TwoFactorRequired

api = NinjaAPI(
    title="心安 xinan API",
    version="1",
    urls_namespace="api",
    auth=[BearerToken(), django_auth],
    docs_url="/docs",
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
