from django.urls import path

from xinan.crisis import desk, views

app_name = "crisis"
urlpatterns = [
    path("", views.board, name="board"),
    path("alerts/since/<int:since>", views.feed, name="feed"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert"),
    path("alerts/<int:pk>/ack/", views.acknowledge, name="acknowledge"),
    path("alerts/<int:pk>/contact/", views.contact, name="contact"),
    path("alerts/<int:pk>/risk/", views.risk, name="risk"),
    path("alerts/<int:pk>/disposition/", views.disposition, name="disposition"),
    path("alerts/<int:pk>/close/", views.close, name="close"),
    path("alerts/<int:pk>/reopen/", views.reopen, name="reopen"),
    path("alerts/<int:pk>/reveal/", views.reveal, name="reveal"),
    path("alerts/<int:pk>/handover/", views.handover, name="handover"),
    path("people/<int:person_id>/alert/", views.manual_alert, name="manual_alert"),
    path("roster/", desk.roster, name="roster"),
    path("roster/<int:pk>/delete/", desk.shift_delete, name="shift_delete"),
    path("hotline/", desk.hotline, name="hotline"),
    path("hotline/<int:pk>/", desk.call_detail, name="call"),
    path("callbacks/<int:pk>/done/", desk.callback_done, name="callback_done"),
    path("callback/", views.callback_request, name="callback"),
]
