"""templates/django/forms/widgets/select.html: Django's select, drawn without an include per option, gives the
very HTML Django's own templates give."""

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates, get_default_renderer

CHOICES = [
    ("", "Nobody"),
    ("1", 'Ann <b>"Bold"</b> & co'),
    ("2", "Bob"),
    ("Group <i>", [("3", "In a group"), ("4", "Also <grouped>")]),
]


class Choices(forms.Form):
    one = forms.ChoiceField(choices=CHOICES, required=False)
    many = forms.MultipleChoiceField(choices=CHOICES, required=False)
    radio = forms.ChoiceField(choices=CHOICES[:3], required=False, widget=forms.RadioSelect)
    flagged = forms.ChoiceField(
        choices=CHOICES[:3], required=False, widget=forms.Select(attrs={"disabled": True, "data-x": 'a"b'})
    )


@pytest.mark.parametrize("data", [{}, {"one": "1", "many": ["2", "4"], "radio": "2", "flagged": "1"}])
@pytest.mark.parametrize("field", ["one", "many", "radio", "flagged"])
def test_a_select_renders_as_with_djangos_own_templates(data, field):
    ours = str(Choices(data, renderer=get_default_renderer())[field])
    djangos = str(Choices(data, renderer=DjangoTemplates())[field])

    assert ours == djangos


def test_the_project_draws_selects_with_its_own_template():
    html = str(Choices(renderer=get_default_renderer())["one"])

    assert (
        get_default_renderer()
        .get_template("django/forms/widgets/select.html")
        .origin.name.endswith("templates/django/forms/widgets/select.html")
    )
    assert '<option value="1">Ann &lt;b&gt;&quot;Bold&quot;&lt;/b&gt; &amp; co</option>' in html
