from django.urls import path

from connect.views import checks, files, status, terminal

app_name = "connect"

urlpatterns = [
    path("<int:pk>/terminal/", terminal.terminal, name="terminal"),
    path("<int:pk>/test-connection/", checks.test_connection, name="test_connection"),
    path("<int:pk>/host-key/trust/", checks.trust_host_key, name="trust_host_key"),
    path("<int:pk>/host-key/reset/", checks.reset_host_key, name="reset_host_key"),
    path("<int:pk>/files/", files.file_list, name="files"),
    path("<int:pk>/files/download/", files.file_download, name="file_download"),
    path("<int:pk>/files/upload/", files.file_upload, name="file_upload"),
    path("<int:pk>/status/", status.status, name="status"),
    path("<int:pk>/status/check/", status.check_status, name="check_status"),
]
