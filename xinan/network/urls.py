from django.urls import path

from xinan.network import views

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
