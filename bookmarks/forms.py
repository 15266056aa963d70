from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from bookmarks import netscape, services
from bookmarks.links import WebLinkFormField, normalize_tags
from bookmarks.models import Bookmark
from vmlab.core.sizes import file_size

IMPORT_MAX_BYTES = 2 * 1024 * 1024


class TagsField(forms.CharField):
    """Tags typed with spaces or commas, cleaned to their stored form before the length check."""

    def to_python(self, value):
        return normalize_tags(super().to_python(value))


class LinkField(WebLinkFormField):
    """A typed link; says what is wrong where "starts with http:// or https://" would not help."""

    def validate(self, value):
        super().validate(value)
        if any(character.isspace() for character in value):
            raise ValidationError(
                _("A web address cannot contain spaces: type %20 instead of a space."), code="invalid"
            )


class BookmarkAdminForm(forms.ModelForm):
    class Meta:
        model = Bookmark
        fields = ("name", "link", "tags", "description", "owner")
        field_classes = {"tags": TagsField, "link": LinkField}

    def clean_owner(self):
        owner = self.cleaned_data["owner"]
        if "owner" in self.changed_data:
            try:
                services.check_owner(owner)
            except ValidationError as error:
                raise ValidationError(error.error_dict["owner"]) from None
        return owner


class BookmarkForm(forms.ModelForm):
    """A user's own bookmark; warns when they already have one for the same address (normalised link)."""

    save_anyway = forms.BooleanField(
        label=_("Save anyway"), required=False, widget=forms.HiddenInput, help_text=_("Keep both bookmarks.")
    )

    class Meta:
        model = Bookmark
        fields = ("name", "link", "tags", "description")
        field_classes = {"tags": TagsField, "link": LinkField}
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = owner
        self.duplicate: Bookmark | None = None

    def clean(self):
        cleaned_data = super().clean()
        link = cleaned_data.get("link")
        if link:
            same_link = Bookmark.objects.owned_by(self.owner).same_link_as(link)
            self.duplicate = same_link.exclude(pk=self.instance.pk).first()
        if self.duplicate is not None:
            self.fields["save_anyway"].widget = forms.CheckboxInput()
            if not cleaned_data.get("save_anyway"):
                self.add_error("save_anyway", _("Tick “Save anyway” to keep a second bookmark for this address."))
        return cleaned_data


class BookmarkImportForm(forms.Form):
    file = forms.FileField(
        label=_("Bookmark file"),
        help_text=_("The HTML file your browser exports (“Export bookmarks”), at most 2 MiB."),
        widget=forms.ClearableFileInput(attrs={"accept": ".html,.htm,text/html"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > IMPORT_MAX_BYTES:
            # Without the file's own size: rounded, "2 MiB" would read as within a limit of 2 MiB.
            raise ValidationError(
                _("This file is too large: bookmark files can be at most %(limit)s."),
                params={"limit": file_size(IMPORT_MAX_BYTES)},
            )
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError(
                _("This file is not UTF-8 text. Export your bookmarks from the browser as HTML and upload that file.")
            ) from None
        if "\x00" in text:
            # Valid UTF-8 but binary; a NUL would also end up in names that PostgreSQL cannot store.
            raise ValidationError(
                _("This file is not a text file. Export your bookmarks from the browser as HTML and upload that file.")
            )
        try:
            self.entries = netscape.parse(text)
        except netscape.UnreadableFile as error:
            raise ValidationError(
                _(
                    "This file is not HTML that VM Lab can read (line %(line)d). "
                    "Export your bookmarks from the browser as HTML and upload that file."
                ),
                params={"line": error.line},
            ) from None
        if not self.entries:
            raise ValidationError(
                _("No bookmarks found in this file. Export them from the browser as HTML and upload that file.")
            )
        return upload
