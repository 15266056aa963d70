from django import forms
from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from bookmarks.querysets import BookmarkQuerySet

validate_web_link = URLValidator(
    schemes=["http", "https"], message=_("Enter a web address that starts with http:// or https://.")
)


class WebLinkFormField(forms.URLField):
    default_validators = [validate_web_link]
    default_error_messages = {"invalid": validate_web_link.message}


class WebLinkField(models.URLField):
    """A URL that a browser may open safely: http and https only (no javascript:, data:, file:...)."""

    default_validators = [validate_web_link]

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": WebLinkFormField, "assume_scheme": "https", **kwargs})


class Bookmark(models.Model):
    name = models.CharField(_("name"), max_length=200)
    link = WebLinkField(_("link"), max_length=2000)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bookmarks", verbose_name=_("owner")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = BookmarkQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name
