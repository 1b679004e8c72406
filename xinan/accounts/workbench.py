"""The sysadmin's worklist on the staff workbench: memberships waiting for a second approval."""

from xinan.accounts import services
from xinan.accounts.models import Role
from xinan.core.workbench import Section, section


@section(order=15)
def pending_memberships(request) -> Section | None:
    user = request.user
    if not user.is_authenticated or not (user.is_superuser or Role.SYSADMIN in user.roles()):
        return None
    pending = list(services.pending_memberships().order_by("created_at")[:10])
    if not pending:
        return None
    return Section(
        "accounts/_workbench.html",
        {
            "pending": pending,
            "count": services.pending_memberships().count(),
            # Only another administrator may approve: say which of these are the user's own.
            "own": {m.pk for m in pending if user.pk in (m.requested_by_id, m.user_id)},
        },
    )
