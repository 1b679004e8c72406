from django.urls import path

from xinan.network import views, views_talent

app_name = "network"

urlpatterns = [
    path("sites/", views.finder, name="finder"),
    path("sites/<int:pk>/", views.site_detail, name="site_detail"),
    path("sites/<int:pk>/photo/", views.site_photo, name="site_photo"),
    path("manage/sites/", views.site_list, name="site_list"),
    path("manage/sites/new/", views.site_edit, name="site_create"),
    path("manage/sites/<int:pk>/", views.site_edit, name="site_edit"),
    path("manage/sites/<int:pk>/closure/", views.site_closure, name="site_closure"),
    path("manage/coverage/", views.coverage, name="coverage"),
]

urlpatterns += [
    path("manage/professionals/", views_talent.professionals, name="professionals"),
    path("manage/professionals/new/", views_talent.professional_edit, name="professional_create"),
    path("manage/professionals/<int:pk>/", views_talent.professional_detail, name="professional"),
    path(
        "manage/professionals/<int:pk>/edit/",
        views_talent.professional_edit,
        name="professional_edit",
    ),
    path(
        "manage/professionals/<int:pk>/certificates/",
        views_talent.certificate_add,
        name="certificate_add",
    ),
    path("manage/teams/", views_talent.teams, name="teams"),
    path("manage/teams/<int:pk>/members/", views_talent.team_member, name="team_member"),
    path("manage/trainings/", views_talent.training_list, name="trainings"),
    path("manage/trainings/<int:pk>/", views_talent.course_detail, name="course"),
    path("manage/trainings/sessions/<int:pk>/", views_talent.session_detail, name="session"),
    path("checkin/<str:token>/", views_talent.checkin, name="checkin"),
    path("manage/import/", views_talent.import_page, name="import"),
    path("manage/import/<int:pk>/", views_talent.import_job, name="import_job"),
    path("manage/import/<int:pk>/rejected/", views_talent.import_rejected, name="import_rejected"),
    path(
        "manage/import/template/<str:kind>/", views_talent.import_template, name="import_template"
    ),
]
