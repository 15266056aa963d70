from datetime import date, datetime, time, timedelta

from django import forms
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.models import Action, AuditEvent
from vmlab.core.search import QUERY_MAX_LENGTH, search_filter

SEARCH_FIELDS = ("actor_label", "target_label", "ip")
# Far-off dates would overflow when turned into the bounds of a day in another time zone.
DATE_VALIDATORS = [MinValueValidator(date(1970, 1, 1)), MaxValueValidator(date(9000, 12, 31))]


def target_type_label(target_type: str) -> str:
    """ "machines.virtualmachine" → "Virtual machine"; a label whose model is gone stays as it is."""
    try:
        return str(apps.get_model(target_type)._meta.verbose_name).capitalize()
    except (LookupError, ValueError):
        return target_type


def target_type_choices() -> list[tuple[str, str]]:
    present = AuditEvent.objects.order_by("target_type").values_list("target_type", flat=True).distinct()
    return [("", _("All types"))] + [(value, target_type_label(value)) for value in present if value]


DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AuditFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=QUERY_MAX_LENGTH,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Who, target or IP")}),
    )
    action = forms.ChoiceField(label=_("Action"), required=False, choices=[("", _("All actions")), *Action.choices])
    actor = forms.CharField(label=_("Who"), required=False, max_length=150)
    target_type = forms.ChoiceField(label=_("Target type"), required=False)
    target_id = forms.CharField(label=_("Target id"), required=False, max_length=64)
    date_from = forms.DateField(label=_("From"), required=False, validators=DATE_VALIDATORS, widget=DATE_INPUT)
    date_to = forms.DateField(label=_("To"), required=False, validators=DATE_VALIDATORS, widget=DATE_INPUT)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target_type"].choices = target_type_choices()

    def clean(self):
        data = super().clean()
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if date_from and date_to and date_from > date_to:
            raise ValidationError(_("“From” must not be after “To”."))
        return data

    def filter(self, queryset):
        """`queryset` narrowed by the filters; call only once the form is valid."""
        data = self.cleaned_data
        exact = {"action": data["action"], "target_type": data["target_type"], "target_id": data["target_id"].strip()}
        queryset = queryset.filter(**{field: value for field, value in exact.items() if value})
        if data["actor"].strip():
            queryset = queryset.filter(actor_label__icontains=data["actor"].strip())
        # Whole days in TIME_ZONE, both ends included.
        if data["date_from"]:
            queryset = queryset.filter(created_at__gte=_start_of(data["date_from"]))
        if data["date_to"]:
            queryset = queryset.filter(created_at__lt=_start_of(data["date_to"] + timedelta(days=1)))
        return queryset.filter(search_filter(data["q"], SEARCH_FIELDS))


def _start_of(day):
    return timezone.make_aware(datetime.combine(day, time.min))
