from django.urls import path

from xinan.cases import views, views_figures, views_referrals

app_name = "cases"
urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("list/", views.case_list, name="list"),
    path("open/<int:person_pk>/", views.case_open, name="open"),
    path("<int:pk>/", views.case_detail, name="detail"),
    path("<int:pk>/move/", views.case_move, name="move"),
    path("<int:pk>/assign/", views.case_assign, name="assign"),
    path("<int:pk>/task/", views.case_task, name="task"),
    path("<int:pk>/intervention/", views.case_intervention, name="intervention"),
    path("<int:pk>/follow-up/", views.case_follow_up, name="follow_up"),
    path("<int:pk>/refer/", views.case_refer, name="refer"),
    path("<int:pk>/reveal/", views.reveal_phone, name="reveal"),
    path("tasks/<int:pk>/done/", views.task_done, name="task_done"),
    path("referrals/", views_referrals.referral_list, name="referrals"),
    path("referrals/<int:pk>/", views_referrals.referral_detail, name="referral"),
    path("referrals/<int:pk>/accept/", views_referrals.referral_accept, name="referral_accept"),
    path("referrals/<int:pk>/decline/", views_referrals.referral_decline, name="referral_decline"),
    path(
        "referrals/<int:pk>/outcome/", views_referrals.referral_complete, name="referral_complete"
    ),
    path("f/<str:token>/", views.follow_up_link, name="follow_up_link"),
    path("figures/", views_figures.loop_figures, name="figures"),
    path("figures/export.csv", views_figures.loop_figures_export, name="figures_export"),
]
