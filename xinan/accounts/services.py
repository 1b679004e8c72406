"""Account verbs: register residents, create staff, change accounts and memberships, manage
two-factor. Every change of an account or a membership writes its audit row here; the admin's
save paths call these functions."""

import datetime as dt
import hmac

import pyotp
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinan.accounts.models import Membership, Role, User, resident_username
from xinan.core import audit, scope
from xinan.core.lib import phone as phone_lib

for _code, _label in {
    "accounts.login": gettext_lazy("登录"),
    "accounts.logout": gettext_lazy("退出登录"),
    "accounts.resident.register": gettext_lazy("居民注册"),
    "accounts.user.create": gettext_lazy("创建账号"),
    "accounts.user.change": gettext_lazy("修改账号"),
    "accounts.user.password": gettext_lazy("管理员重置密码"),
    "accounts.user.delete": gettext_lazy("删除账号"),
    "accounts.membership.add": gettext_lazy("分配角色"),
    "accounts.membership.request": gettext_lazy("申请分配角色（待审批）"),
    "accounts.membership.change": gettext_lazy("修改角色分配"),
    "accounts.membership.approve": gettext_lazy("批准角色分配"),
    "accounts.membership.reject": gettext_lazy("驳回角色分配"),
    "accounts.membership.remove": gettext_lazy("删除角色分配"),
    "accounts.totp.enable": gettext_lazy("启用两步验证"),
    "accounts.totp.failed": gettext_lazy("动态口令错误"),
    "accounts.totp.locked": gettext_lazy("动态口令错误过多，已锁定"),
}.items():
    audit.register_action(_code, _label)


class AccountError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def register_resident(*, phone: str, password: str, display_name: str = "") -> User:
    try:
        number = phone_lib.validate(phone)
    except phone_lib.InvalidPhone as exc:
        raise AccountError(_("手机号：") + str(exc)) from None
    user = User(username=resident_username(number), display_name=display_name)
    user.set_phone(number)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise AccountError(_("密码：") + " ".join(exc.messages)) from None
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            Membership.objects.create(user=user, role=Role.RESIDENT)
            audit.record("accounts.resident.register", user, actor=user)
    except IntegrityError:
        raise AccountError(_("该手机号已注册，请直接登录")) from None
    return user


def create_staff(
    *,
    username: str,
    password: str,
    role: str,
    area=None,
    institution=None,
    display_name="",
    actor=None,
) -> User:
    """A staff account with one membership (from the command line or the demo: actor None)."""
    with transaction.atomic():
        user = User.objects.create_user(username=username, password=password)
        user.display_name = display_name
        user.save(update_fields=["display_name"])
        audit.record("accounts.user.create", user, actor=actor, changed_fields=["username"])
        add_membership(user, role=role, area=area, institution=institution, actor=actor)
    return user


# ---------------------------------------------------------------- accounts and memberships


def opens_person_records(role: str) -> bool:
    """True for a role whose membership reaches person-level records in any domain
    (scope.DETAIL above NONE)."""
    return any(scope.role_detail(role, domain) > scope.Detail.NONE for domain in scope.DOMAINS)


def _needs_approval(role: str, active: bool, actor) -> bool:
    # Asked for by a person (the admin), not by the system (command line, demo, migrations):
    # a second administrator must approve before the membership opens any record.
    return active and opens_person_records(role) and getattr(actor, "is_authenticated", False)


def _membership_reason(m: Membership) -> str:
    where = m.area_id or (m.institution.name if m.institution_id else "")
    return f"{m.get_role_display()} @ {where}" if where else str(m.get_role_display())


def save_account(user: User, *, changed_fields, created: bool, actor) -> User:
    """Save an account edited by an administrator, with its audit row."""
    changed_fields = sorted(set(changed_fields))
    with transaction.atomic():
        user.save()
        if created or changed_fields:
            audit.record(
                "accounts.user.create" if created else "accounts.user.change",
                user,
                actor=actor,
                changed_fields=changed_fields or ["username"],
            )
    return user


def set_password_by_admin(user: User, *, actor) -> None:
    """Audit a password an administrator set for someone (the admin's password form saved it)."""
    audit.record("accounts.user.password", user, actor=actor, changed_fields=["password"])


def delete_account(user: User, *, actor) -> None:
    with transaction.atomic():
        audit.record("accounts.user.delete", user, actor=actor, reason=user.get_username())
        user.delete()


def add_membership(
    user: User, *, role: str, area=None, institution=None, active: bool = True, actor
) -> Membership:
    """A new membership; one that opens person records waits for a second administrator."""
    if role not in Role.values:
        raise AccountError(_("未知的角色"))
    pending = _needs_approval(role, active, actor)
    with transaction.atomic():
        m = Membership.objects.create(
            user=user,
            role=role,
            area=area,
            institution=institution,
            active=active and not pending,
            pending=pending,
            requested_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit.record(
            "accounts.membership.request" if pending else "accounts.membership.add",
            m,
            actor=actor,
            changed_fields=["role", "area" if area else "institution" if institution else "role"],
            reason=_membership_reason(m),
        )
    forget_cached(user)
    return m


def change_membership(
    m: Membership, *, role: str, area=None, institution=None, active: bool, actor
) -> Membership:
    """Change a membership's role, place or state. A change that widens person access (a new
    role, a new place, re-activation) waits again for a second administrator."""
    values = {
        "role": role,
        "area_id": area.pk if area else None,
        "institution_id": institution.pk if institution else None,
        "active": active,
    }
    changed = [name.removesuffix("_id") for name, v in values.items() if getattr(m, name) != v]
    if not changed:
        return m
    widened = bool({"role", "area", "institution"} & set(changed)) or (active and not m.active)
    pending = widened and _needs_approval(role, active, actor)
    with transaction.atomic():
        m.role, m.area, m.institution = role, area, institution
        m.active = active and not pending
        m.pending = pending
        if pending:
            m.requested_by, m.approved_by, m.approved_at = actor, None, None
        m.save()
        audit.record(
            "accounts.membership.request" if pending else "accounts.membership.change",
            m,
            actor=actor,
            changed_fields=changed,
            reason=_membership_reason(m),
        )
    forget_cached(m.user)
    return m


def remove_membership(m: Membership, *, actor) -> None:
    with transaction.atomic():
        audit.record("accounts.membership.remove", m, actor=actor, reason=_membership_reason(m))
        m.delete()
    forget_cached(m.user)


def approve_membership(m: Membership, *, actor) -> Membership:
    """The second administrator's approval: never the one who asked, never the member."""
    with transaction.atomic():
        m = Membership.objects.select_for_update().select_related("user").get(pk=m.pk)
        if not m.pending:
            raise AccountError(_("该角色分配不在待审批状态"))
        if not (actor.is_superuser or Role.SYSADMIN in actor.roles()):
            raise AccountError(_("只有系统管理员可以审批角色分配"))
        if actor.pk in (m.requested_by_id, m.user_id):
            raise AccountError(_("不能审批自己申请或授予自己的角色，请由另一位管理员审批"))
        m.pending, m.active = False, True
        m.approved_by, m.approved_at = actor, timezone.now()
        m.save(update_fields=["pending", "active", "approved_by", "approved_at"])
        audit.record(
            "accounts.membership.approve",
            m,
            actor=actor,
            changed_fields=["active"],
            reason=_membership_reason(m),
        )
    forget_cached(m.user)
    return m


def reject_membership(m: Membership, *, actor) -> Membership:
    with transaction.atomic():
        m = Membership.objects.select_for_update().get(pk=m.pk)
        if not m.pending:
            raise AccountError(_("该角色分配不在待审批状态"))
        m.pending = False
        m.save(update_fields=["pending"])
        audit.record("accounts.membership.reject", m, actor=actor, reason=_membership_reason(m))
    return m


def pending_memberships():
    return Membership.objects.filter(pending=True).select_related(
        "user", "area", "institution", "requested_by"
    )


def forget_cached(user: User) -> None:
    for name in ("_roles_cache", "_memberships_cache", "_scope_reaches", "_scope_rules"):
        user.__dict__.pop(name, None)


def start_totp_enrolment(user: User) -> str:
    """A fresh secret for the user to scan; confirmed only after a correct code."""
    secret = pyotp.random_base32()
    user.totp_secret = secret
    user.totp_confirmed = False
    user.totp_last_step = None
    user.save(update_fields=["totp_secret", "totp_confirmed", "totp_last_step"])
    return secret


def provisioning_uri(user: User, issuer: str) -> str:
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username, issuer_name=issuer)


def verify_totp(user: User, code: str, *, now: dt.datetime | None = None) -> bool:
    """True for a correct code not used before; the step is recorded so it cannot be replayed."""
    code = (code or "").strip().replace(" ", "")
    if not user.totp_secret or not code.isdigit() or len(code) != 6:
        return False
    totp = pyotp.TOTP(user.totp_secret)
    now = now or timezone.now()
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            # Conditional update: two requests with the same code cannot both succeed.
            accepted = (
                User.objects.filter(pk=user.pk)
                .filter(Q(totp_last_step__isnull=True) | Q(totp_last_step__lt=step))
                .update(totp_last_step=step)
            )
            if accepted:
                user.totp_last_step = step
            return bool(accepted)
    return False


def check_second_factor(user: User, code: str, *, now: dt.datetime | None = None) -> None:
    """The login's second step: a right code, or AccountError. Wrong codes are counted and
    audited; after LOGIN_MAX_FAILURES of them the account is locked like a password lockout."""
    now = now or timezone.now()
    if user.is_locked(now):
        raise AccountError(_locked_message(user.locked_until, now))
    if verify_totp(user, code, now=now):
        if user.totp_failures:
            User.objects.filter(pk=user.pk).update(totp_failures=0)
            user.totp_failures = 0
        return
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(totp_failures=F("totp_failures") + 1)
        user.refresh_from_db(fields=["totp_failures"])
        audit.record("accounts.totp.failed", user, actor=None, changed_fields=["totp_failures"])
        if user.totp_failures >= settings.LOGIN_MAX_FAILURES:
            until = now + dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
            User.objects.filter(pk=user.pk).update(totp_failures=0, locked_until=until)
            user.locked_until = until
            audit.record("accounts.totp.locked", user, actor=None, changed_fields=["locked_until"])
    if user.is_locked(now):  # raised after the commit: the count and the lock are kept
        raise AccountError(_locked_message(user.locked_until, now))
    raise AccountError(_("动态口令不正确，请重新输入"))


def _locked_message(until: dt.datetime, now: dt.datetime) -> str:
    minutes = max(1, int((until - now).total_seconds() // 60) + 1)
    return _("动态口令错误次数过多，账号已锁定，请%(minutes)d分钟后再试") % {"minutes": minutes}


def confirm_totp(user: User, code: str) -> None:
    if not verify_totp(user, code):
        raise AccountError(_("动态口令不正确，请重新输入"))
    with transaction.atomic():
        user.totp_confirmed = True
        user.save(update_fields=["totp_confirmed"])
        audit.record("accounts.totp.enable", user, actor=user, changed_fields=["totp_confirmed"])
