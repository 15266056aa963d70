from django.urls import path

from people import views

app_name = "people"

urlpatterns = [
    path("users/", views.user_list, name="user_list"),
    path("users/<int:pk>/", views.user_detail, name="user_detail"),
    path("users/<int:pk>/role/", views.user_set_role, name="user_set_role"),
    path("users/<int:pk>/disable/", views.user_disable, name="user_disable"),
    path("users/<int:pk>/enable/", views.user_enable, name="user_enable"),
    path("users/<int:pk>/access-end/", views.user_set_access_end, name="user_set_access_end"),
    path("users/<int:pk>/delete/", views.user_delete, name="user_delete"),
    path("waiting-list/", views.waiting_list, name="waiting_list"),
    path("users/<int:pk>/approve/", views.user_approve, name="user_approve"),
    path("users/<int:pk>/deny/", views.user_deny, name="user_deny"),
]
