"""Web links as bookmarks keep them: http and https only, and the normalised form duplicates are found by."""

from urllib.parse import urlsplit, urlunsplit

from django import forms
from django.core.validators import URLValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

LINK_MAX_LENGTH = 2000
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
