from urllib.parse import urlsplit, urlunsplit

from django import forms
from django.conf import settings
from django.core.validators import MaxLengthValidator, URLValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from bookmarks.querysets import BookmarkQuerySet

NAME_MAX_LENGTH = 200
LINK_MAX_LENGTH = 2000
TAGS_MAX_LENGTH = 500
DESCRIPTION_MAX_LENGTH = 2000
DEFAULT_PORTS = {"http": 80, "https": 443}

validate_web_link = URLValidator(
    schemes=["http", "https"], message=_("Enter a web address that starts with http:// or https://.")
)


def normalize_link(link: str) -> str:
    """The form of `link` under which two bookmarks count as duplicates.

    Scheme and host are case-insensitive, the default port and a trailing slash change nothing, and the
    fragment only scrolls the page; the query string can select another page, so it is kept.
    """
    try:
        parts = urlsplit(link.strip())
        port = parts.port
    except ValueError:
        return link.strip().lower()[:LINK_MAX_LENGTH]
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    userinfo, _at, _hostport = parts.netloc.rpartition("@")
    netloc = f"{userinfo}@{host}" if _at else host
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), parts.query, ""))[:LINK_MAX_LENGTH]


def normalize_tags(tags: str) -> str:
    """Tags as stored: lowercase, each once, sorted, separated by one space (users may type commas too)."""
    return " ".join(sorted(set(tags.replace(",", " ").lower().split())))


class WebLinkFormField(forms.URLField):
    default_validators = [validate_web_link]
    default_error_messages = {"invalid": validate_web_link.message}


class WebLinkField(models.URLField):
    """A URL that a browser may open safely: http and https only (no javascript:, data:, file:...)."""

    default_validators = [validate_web_link]

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": WebLinkFormField, "assume_scheme": "https", **kwargs})


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
