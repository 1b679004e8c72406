"""Issuing, revoking and checking API tokens."""

import datetime as dt
import secrets
import threading
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinan.api.models import ApiToken
from xinan.core import audit
from xinan.core.lib import crypto

KEY_PREFIX = "xn_"

audit.register_action("api.token.issue", gettext_lazy("签发接口令牌"))
audit.register_action("api.token.revoke", gettext_lazy("吊销接口令牌"))
audit.register_action("api.token.change", gettext_lazy("修改接口令牌"))
audit.register_action("api.token.delete", gettext_lazy("删除接口令牌"))


class TokenError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _hash(key: str) -> str:
    # Keyed, so a copy of the table cannot be used to test guesses offline.
    return crypto.lookup_hash(f"api-token:{key}")


def issue(user, name: str, *, actor=None, days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for `user`; returns it and the key, which is never shown again."""
    name = (name or "").strip()
    if not name:
        raise TokenError(_("请写明令牌的用途"))
    if not user.is_active:
        raise TokenError(_("该用户已停用，不能签发令牌"))
    if days is not None and days <= 0:
        raise TokenError(_("有效天数必须大于 0"))
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name[:100],
            key_hash=_hash(key),
            prefix=key[:10],
            created_by=actor,
            expires_at=timezone.now() + dt.timedelta(days=days) if days else None,
        )
        audit.record("api.token.issue", token, actor=actor, reason=name)
    return token, key


def revoke(token: ApiToken, *, actor=None) -> ApiToken:
    if token.revoked_at is None:
        with transaction.atomic():
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit.record("api.token.revoke", token, actor=actor, reason=token.name)
    forget(token.key_hash)
    return token


def update_token(token: ApiToken, *, changed_fields, actor) -> ApiToken:
    """Save an administrator's edit of a token (its name, its expiry), audited."""
    with transaction.atomic():
        token.save()
        if changed_fields:
            audit.record(
                "api.token.change",
                token,
                actor=actor,
                changed_fields=changed_fields,
                reason=token.name,
            )
    forget(token.key_hash)
    return token


def delete_token(token: ApiToken, *, actor) -> None:
    with transaction.atomic():
        audit.record("api.token.delete", token, actor=actor, reason=token.name)
        token.delete()
    forget(token.key_hash)


# Resolved tokens are kept briefly per process: a submission path that looked up the token,
# its user and the user's memberships on every request would spend most of its time there.
# A revoked token, a deactivated user or a changed membership takes effect within this time.
_cache: dict[str, tuple[float, object]] = {}
_cache_lock = threading.Lock()
MAX_CACHED = 10_000


def cache_seconds() -> float:
    return float(getattr(settings, "API_TOKEN_CACHE_SECONDS", 30))


def forget(key_hash: str | None = None) -> None:
    with _cache_lock:
        if key_hash is None:
            _cache.clear()
        else:
            _cache.pop(key_hash, None)


def authenticate(key: str):
    """The active user the key belongs to, or None."""
    if not key or not key.startswith(KEY_PREFIX) or len(key) > 100:
        return None
    key_hash = _hash(key)
    now = time.monotonic()
    hit = _cache.get(key_hash)
    if hit is not None and now - hit[0] < cache_seconds():
        return hit[1]
    token = ApiToken.objects.usable().select_related("user").filter(key_hash=key_hash).first()
    if token is None:
        forget(key_hash)
        return None
    user = token.user
    user.active_memberships()  # loaded now, kept with the cached user
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    with _cache_lock:
        if len(_cache) >= MAX_CACHED:
            _cache.clear()
        _cache[key_hash] = (now, user)
    return user
