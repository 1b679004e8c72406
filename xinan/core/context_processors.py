from django.conf import settings

from xinan.core import navigation


def platform(request):
    user = getattr(request, "user", None)
    staff = bool(user and user.is_authenticated and user.is_staff_member)
    roles = user.roles() if staff else set()
    return {
        "platform_name": settings.PLATFORM_NAME,
        "national_hotline": settings.NATIONAL_HOTLINE,
        "is_staff_member": staff,
        # What the navigation offers; the views decide access on their own.
        "nav_person_work": bool(roles - {"sysadmin", "resident"}),
        "nav_crisis": "crisis_worker" in roles,
        "nav_campaigns": "area_admin" in roles,
        "nav_audit": bool(roles & {"area_admin", "sysadmin"}),
        # Pages the apps registered for these roles (xinan/core/navigation.py).
        "nav_entries": navigation.entries_for(user) if staff else [],
    }
