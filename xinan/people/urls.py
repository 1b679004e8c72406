from django.urls import path

from xinan.people import views, views_privacy

app_name = "people"
urlpatterns = [
    path("", views.person_list, name="list"),
    path("new/", views.person_create, name="create"),
    path("break-glass/", views.break_glass, name="break_glass"),
    path("<int:pk>/", views.person_detail, name="detail"),
    path("<int:pk>/edit/", views.person_edit, name="edit"),
    path("<int:pk>/consent/", views.consent_add, name="consent_add"),
    path("<int:pk>/privacy/", views_privacy.person_privacy, name="privacy"),
]
