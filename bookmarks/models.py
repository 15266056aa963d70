from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

# WebLinkField and the normalisers are also imported from here by migrations 0001 and 0002: keep these names.
from bookmarks.links import LINK_MAX_LENGTH, WebLinkField, normalize_link, normalize_tags
from bookmarks.querysets import BookmarkQuerySet

NAME_MAX_LENGTH = 200
TAGS_MAX_LENGTH = 500
DESCRIPTION_MAX_LENGTH = 2000


class Bookmark(models.Model):
    name = models.CharField(_("name"), max_length=NAME_MAX_LENGTH)
    link = WebLinkField(_("link"), max_length=LINK_MAX_LENGTH)
    description = models.TextField(
        _("description"),
        blank=True,
        max_length=DESCRIPTION_MAX_LENGTH,
        validators=[MaxLengthValidator(DESCRIPTION_MAX_LENGTH)],
    )
    tags = models.CharField(
        _("tags"),
        max_length=TAGS_MAX_LENGTH,
        blank=True,
        help_text=_("Words separated by spaces or commas, e.g. “docs monitoring”."),
    )
    normalized_link = models.CharField(_("normalised link"), max_length=LINK_MAX_LENGTH, db_index=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bookmarks", verbose_name=_("owner")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = BookmarkQuerySet.as_manager()

    class Meta:
        verbose_name = _("bookmark")
        verbose_name_plural = _("bookmarks")
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.normalize()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "link" in update_fields:
            kwargs["update_fields"] = {*update_fields, "normalized_link"}
        super().save(*args, **kwargs)

    @property
    def tag_list(self) -> list[str]:
        return self.tags.split()

    def normalize(self) -> None:
        """Fill the stored forms of tags and link; save() does it, bulk_create callers call it themselves."""
        self.tags = normalize_tags(self.tags)
        # Browsers send a textarea's line breaks as CRLF; one form of line break keeps export/import exact.
        self.description = self.description.replace("\r\n", "\n").replace("\r", "\n")
        self.normalized_link = normalize_link(self.link)
