"""vmlab.core.rows: links built from one reverse() per table, and texts shortened as truncatechars does."""

import pytest
from django.template.defaultfilters import truncatechars
from django.urls import NoReverseMatch, reverse, set_script_prefix

from vmlab.core.rows import PLACEHOLDER, PkUrl, shortened


@pytest.mark.parametrize("pk", [1, 9, 10, 42, 999, 1000, 123456789, 2**31, 2**63 - 1])
@pytest.mark.parametrize("name", ["machines:detail", "bookmarks:edit", "bookmarks:delete", "people:user_detail"])
def test_a_link_built_from_the_reversed_prefix_is_the_reversed_link_whatever_the_pk(name, pk):
    assert PkUrl(name)(pk) == reverse(name, args=[pk])


def test_a_link_keeps_the_script_prefix_of_a_site_served_under_a_path():
    set_script_prefix("/lab/")
    try:
        assert PkUrl("machines:detail")(7) == "/lab/machines/7/" == reverse("machines:detail", args=[7])
    finally:
        set_script_prefix("/")


def test_a_pk_that_is_no_number_is_refused_rather_than_put_into_the_link():
    with pytest.raises(ValueError, match="invalid literal"):
        PkUrl("machines:detail")("7/../../admin")


def test_a_url_that_takes_no_pk_is_refused():
    with pytest.raises(NoReverseMatch):
        PkUrl("bookmarks:list")


def test_the_placeholder_cannot_be_mistaken_for_a_small_pk():
    assert len(str(PLACEHOLDER)) >= 18


@pytest.mark.parametrize(
    "text",
    [
        "",
        "short",
        "x" * 40,
        "x" * 41,
        "y" * 200,
        "e\u0301" * 30,  # 60 code points, 30 characters once composed
        "a\u0300" * 45,  # combining accents that NFC composes, past the limit
        "\u0915\u094d" * 30,  # combining marks NFC leaves alone
        "<script>alert(1)</script>" * 3,
    ],
)
def test_shortened_gives_what_truncatechars_gives(text):
    assert shortened(text, 40) == truncatechars(text, 40)
