from django.urls import path

from machines.views import import_export, pages, secrets

app_name = "machines"

urlpatterns = [
    path("new/", pages.vm_create, name="create"),
    path("import/", import_export.vm_import, name="import"),
    path("import/apply/", import_export.vm_import_apply, name="import_apply"),
    path("import/discard/", import_export.vm_import_discard, name="import_discard"),
    path("export/", import_export.vm_export, name="export"),
    path("<int:pk>/", pages.vm_detail, name="detail"),
    path("<int:pk>/edit/", pages.vm_edit, name="edit"),
    path("<int:pk>/delete/", pages.vm_delete, name="delete"),
    path("<int:pk>/password/", secrets.vm_password, name="password"),
    path("<int:pk>/ssh-key/", secrets.vm_ssh_key, name="ssh_key"),
    path("<int:pk>/share/", pages.vm_share, name="share"),
    path("<int:pk>/assign/", pages.vm_assign, name="assign"),
    path("<int:pk>/reveal/", secrets.vm_reveal, name="reveal"),
    path("<int:pk>/ssh-config/", pages.vm_ssh_config, name="ssh_config"),
]
