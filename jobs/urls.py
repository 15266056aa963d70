from django.urls import path

from jobs import views

app_name = "jobs"

urlpatterns = [
    path("", views.worker_health, name="health"),
]
