from django.conf import settings


def platform(request):
    user = getattr(request, "user", None)
    staff = bool(user and user.is_authenticated and user.is_staff_member)
    return {
        "platform_name": settings.PLATFORM_NAME,
        "national_hotline": settings.NATIONAL_HOTLINE,
        "is_staff_member": staff,
    }
