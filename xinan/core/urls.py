from django.urls import path

from xinan.core import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("me/", views.resident_home, name="resident_home"),
    path("workbench/", views.workbench, name="workbench"),
    path("audit/", views.audit_log, name="audit_log"),
    path("audit/export.csv", views.audit_export, name="audit_export"),
    path("break-glass/", views.break_glass_reviews, name="break_glass_reviews"),
    path("break-glass/<int:pk>/review/", views.break_glass_review, name="break_glass_review"),
    path("break-glass/<int:pk>/revoke/", views.access_grant_revoke, name="access_grant_revoke"),
    path("areas/import/", views.area_import, name="area_import"),
    path("jobs/", views.job_list, name="jobs"),
]
