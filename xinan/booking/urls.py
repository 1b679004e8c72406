from django.urls import path

from xinan.booking import views, views_manage

app_name = "booking"

urlpatterns = [
    path("sites/<int:pk>/", views.book_site, name="book_site"),
    path("counsellors/<int:pk>/", views.counsellor, name="counsellor"),
    path("counsellors/<int:pk>/book/", views.book, name="book"),
    path("mine/", views.mine, name="mine"),
    path("appointments/<int:pk>/", views.appointment, name="appointment"),
    path("appointments/<int:pk>/reschedule/", views.reschedule, name="reschedule"),
    path("appointments/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("appointments/<int:pk>/rate/", views.rate, name="rate"),
    path("sessions/", views.sessions, name="sessions"),
    path("sessions/<int:pk>/outcome/", views.outcome, name="outcome"),
    path("people/<int:person_pk>/book/", views.book_for, name="book_for"),
    path("availability/", views_manage.availability, name="availability"),
    path(
        "availability/<int:pk>/remove/",
        views_manage.availability_remove,
        name="availability_remove",
    ),
    path(
        "availability/exception/",
        views_manage.availability_exception,
        name="availability_exception",
    ),
    path("vouchers/", views_manage.budgets, name="budgets"),
    path("people/<int:person_pk>/voucher/", views_manage.issue, name="issue"),
]
