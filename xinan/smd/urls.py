app_name = "smd"

urlpatterns: list = []
