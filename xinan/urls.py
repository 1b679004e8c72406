from django.contrib import admin
from django.urls import include, path

from xinan.api.api import api

# The API first: its submissions are the busiest requests, and a resolver tries the patterns in
# order (nothing else lives under api/v1/).
urlpatterns = [
    path("api/v1/", api.urls),
    path("", include("xinan.core.urls")),
    path("accounts/", include("xinan.accounts.urls")),
    path("people/", include("xinan.people.urls")),
    path("screening/", include("xinan.screening.urls")),
    path("crisis/", include("xinan.crisis.urls")),
    path("cases/", include("xinan.cases.urls")),
    path("smd/", include("xinan.smd.urls")),
    path("network/", include("xinan.network.urls")),
    path("booking/", include("xinan.booking.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
