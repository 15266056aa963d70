from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from bookmarks.models import Bookmark


class BookmarkAdminForm(forms.ModelForm):
    class Meta:
        model = Bookmark
        fields = ("name", "link", "owner")

    def clean_owner(self):
        owner = self.cleaned_data["owner"]
        if "owner" in self.changed_data and not owner.can_keep_bookmarks:
            raise ValidationError(
                _("%(user)s cannot keep bookmarks: owners are active sidekicks, managers or admins."),
                params={"user": owner},
            )
        return owner
