"""The REST API, with its OpenAPI description at /api/v1/docs (staff only)."""

import functools
import logging

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import django_auth

from xinan.api.auth import BearerToken, TwoFactorRequired

# Answers every operation can give, from the handlers below: documented on each operation so
# that the schema says what a client will get (schemathesis checks it, test_schema_fuzz.py).
_MESSAGE = {
    "type": "object",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "required": ["detail"],
}
_INVALID = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "required": ["detail", "errors"],
}
COMMON_RESPONSES = {
    "401": ("未登录或令牌无效", _MESSAGE),
    "403": ("需要两步验证（code: two_factor_required）", _MESSAGE),
    "422": ("提交的数据格式不对（errors 逐项说明）", _INVALID),
}


class XinanAPI(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        schema = super().get_openapi_schema(*args, **kwargs)
        for methods in schema.get("paths", {}).values():
            for operation in methods.values():
                responses = operation.setdefault("responses", {})
                for status, (description, body) in COMMON_RESPONSES.items():
                    responses.setdefault(
                        status,
                        {
                            "description": description,
                            "content": {"application/json": {"schema": body}},
                        },
                    )
        return schema


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


log = logging.getLogger(__name__)

api = XinanAPI(
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


@api.exception_handler(Exception)
def server_error(request, exc):
    """Whatever else goes wrong answers JSON, as every API answer does (a dropped database
    connection, a bug): logged with its traceback, and a Chinese message for the caller."""
    log.error("API error on %s %s", request.method, request.path, exc_info=exc)
    return api.create_response(
        request, {"detail": _("服务器暂时出错，请稍后重试"), "code": "server_error"}, status=500
    )


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
