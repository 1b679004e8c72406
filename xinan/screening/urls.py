from django.urls import path

from xinan.screening import views, views_campaigns, views_import

app_name = "screening"
urlpatterns = [
    # residents
    path("", views.pick, name="pick"),
    path("c/<str:token>/", views.campaign_landing, name="campaign_landing"),
    path("i/<str:token>/", views_campaigns.campaign_invitation, name="campaign_invitation"),
    path(
        "i/<str:token>/<str:code>/",
        views_campaigns.campaign_invitation_question,
        name="campaign_invitation_question",
    ),
    path("take/<str:code>/", views.consent, name="consent"),
    path("take/<str:code>/q/", views.question, name="question"),
    path("result/<int:pk>/", views.result, name="result"),
    path("mine/", views.mine, name="mine"),
    # staff
    path("person/<int:pk>/", views.person_assessments, name="person"),
    path("person/<int:pk>/interview/<str:code>/", views.interview, name="interview"),
    path("paper/", views.paper, name="paper"),
    path("assessment/<int:pk>/", views.assessment_detail, name="assessment"),
    path("campaigns/", views_campaigns.campaign_list, name="campaigns"),
    path("campaigns/new/", views_campaigns.campaign_create, name="campaign_create"),
    path("campaigns/<int:pk>/", views_campaigns.campaign_detail, name="campaign"),
    path(
        "campaigns/<int:pk>/invitations/",
        views_campaigns.campaign_invitations_issue,
        name="campaign_invitations_issue",
    ),
    path(
        "campaigns/<int:pk>/invitations/progress/",
        views_campaigns.campaign_invitations_progress,
        name="campaign_invitations_progress",
    ),
    path(
        "campaigns/<int:pk>/invitations/print/",
        views_campaigns.campaign_invitations_print,
        name="campaign_invitations_print",
    ),
    path(
        "campaigns/<int:pk>/invitations/<int:invitation>/reissue/",
        views_campaigns.campaign_invitation_reissue,
        name="campaign_invitation_reissue",
    ),
    path(
        "campaigns/<int:pk>/invitations.csv",
        views_campaigns.campaign_invitations_download,
        name="campaign_invitations_download",
    ),
    path("import/", views_import.import_start, name="import"),
    path("import/template/<str:code>.xlsx", views_import.import_template, name="import_template"),
    path("import/<int:pk>/", views_import.import_status, name="import_status"),
    path("import/<int:pk>/rejected.csv", views_import.import_rejected, name="import_rejected"),
]
