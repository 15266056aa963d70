from django.urls import path

from access_requests import views

app_name = "access_requests"

urlpatterns = [
    path("", views.my_requests, name="mine"),
    path("new/", views.request_create, name="create"),
    path("queue/", views.queue, name="queue"),
    path("<int:pk>/", views.request_detail, name="detail"),
    path("<int:pk>/approve/", views.request_approve, name="approve"),
    path("<int:pk>/deny/", views.request_deny, name="deny"),
    path("<int:pk>/withdraw/", views.request_withdraw, name="withdraw"),
    path("more-time/<int:pk>/", views.request_extension, name="extend"),
]
