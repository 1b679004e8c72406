from django.urls import path

from xinan.smd import indicator_views, views

app_name = "smd"

urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("register/", views.register, name="register"),
    path("p/<int:pk>/", views.patient_detail, name="patient"),
    path("p/<int:pk>/edit/", views.patient_edit, name="patient_edit"),
    path("p/<int:pk>/follow-up/", views.follow_up_new, name="follow_up_new"),
    path("p/<int:pk>/exam/", views.exam, name="exam"),
    path("p/<int:pk>/emergency/", views.emergency_new, name="emergency_new"),
    path("p/<int:pk>/transfer/", views.transfer, name="transfer"),
    path("f/<int:pk>/", views.follow_up_detail, name="follow_up"),
    path("f/<int:pk>/override/", views.follow_up_override, name="follow_up_override"),
    path("e/<int:pk>/complete/", views.emergency_complete, name="emergency_complete"),
    path("reports/", views.reports, name="reports"),
    path("reports/new/", views.report_new, name="report_new"),
    path("indicators/", indicator_views.indicators, name="indicators"),
    path("indicators/patients/", indicator_views.indicator_patients, name="indicator_patients"),
    path("indicators.xlsx", indicator_views.indicators_xlsx, name="indicators_xlsx"),
]
