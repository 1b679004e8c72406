"""Who manages what in the service network: area admins, within their areas."""

from django.http import Http404

from xinan.core import scope
from xinan.core.models import Area


def admin_prefixes_or_404(user) -> list[str]:
    prefixes = scope.admin_prefixes(user)
    if not prefixes:
        raise Http404
    return prefixes


def managed_areas(user):
    prefixes = admin_prefixes_or_404(user)
    return Area.objects.current().filter(scope.area_q(prefixes, "code")).order_by("code")


def managed(user, queryset, field: str = "area__code"):
    return queryset.filter(scope.area_q(admin_prefixes_or_404(user), field))
