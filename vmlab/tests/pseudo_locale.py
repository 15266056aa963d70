"""A test-only language, "xx", in which every translated string comes out wrapped in ⟦ ⟧, and a reader of pages
that finds the visible text left outside those markers: English that no translator will ever see.

Every gettext call is wrapped, whether or not the catalogue knows the string (that the catalogue is complete is
test_translations.py's job): what this finds is text that never goes through gettext at all.
"""

import gettext
import re
import zoneinfo
from html.parser import HTMLParser

from django.conf import settings
from django.utils import translation
from django.utils.translation import trans_real

PSEUDO = "xx"
OPEN, CLOSE = "⟦", "⟧"

# Elements whose text is code or the user's own words, never an interface string.
NOT_INTERFACE = {"script", "style", "code", "pre", "kbd", "samp", "textarea"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# Attributes that people read: tooltips, placeholders, what a screen reader says, and the confirmation that
# static/js/vmlab.js shows before a form with data-confirm is sent.
VISIBLE_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "data-confirm"}
# Left once markers and user data are gone: the product's name, and web addresses.
INVARIANT = re.compile(r"VM Lab|https?://\S+")
A_WORD = re.compile(r"[^\W\d_]{2,}")
MARKED = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")
SEPARATOR = "\n"


class PseudoTranslation(gettext.NullTranslations):
    """Stands in for a DjangoTranslation of "xx" in trans_real's cache."""

    def gettext(self, message):
        # pgettext asks for "context\x04message".
        return f"{OPEN}{message.split(trans_real.CONTEXT_SEPARATOR)[-1]}{CLOSE}" if message else message

    def ngettext(self, singular, plural, n):
        return self.gettext(singular if n == 1 else plural)

    def to_language(self):
        return PSEUDO


def install(monkeypatch):
    """Every request (signed in or not, whatever its Accept-Language) and translation.override("xx") speak "xx"."""
    monkeypatch.setitem(trans_real._translations, PSEUDO, PseudoTranslation())
    monkeypatch.setattr(translation, "get_language_from_request", lambda request, check_path=False: PSEUDO)


class _VisibleText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts = []
        self._skipping = []  # the open elements that hide their text

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in VISIBLE_ATTRIBUTES & attrs.keys():
            self.texts.append(attrs[name] or "")
        if tag == "input" and attrs.get("type") in ("submit", "button"):
            self.texts.append(attrs.get("value") or "")
        if tag in VOID:
            return
        # Text in another language on purpose (lang="…", e.g. the switcher's language names), or marked as not for
        # translation (translate="no": a host name, a command), is left alone.
        hides = tag in NOT_INTERFACE or ("lang" in attrs and tag != "html") or attrs.get("translate") == "no"
        self._skipping.append((tag, hides))

    def handle_endtag(self, tag):
        for index in range(len(self._skipping) - 1, -1, -1):
            if self._skipping[index][0] == tag:
                del self._skipping[index:]
                return

    def handle_data(self, data):
        if not any(hides for _tag, hides in self._skipping):
            self.texts.append(data)


def visible_texts(html: str) -> list[str]:
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return [text for text in parser.texts if text.strip()]


def untranslated(texts: list[str], user_data: re.Pattern, invariant: re.Pattern | None = None) -> list[str]:
    """The English left once the marked parts, the user's data and the invariant words are gone. The texts are read
    as one (a translated sentence may hold a link or a <code>, which splits it into several texts)."""
    rest = SEPARATOR.join(texts)
    while MARKED.search(rest):
        rest = MARKED.sub(" ", rest)
    rest = user_data.sub(" ", INVARIANT.sub(" ", rest))
    if invariant is not None:
        rest = invariant.sub(" ", rest)
    return [" ".join(part.split()) for part in rest.split(SEPARATOR) if A_WORD.search(part)]


def data_pattern(values) -> re.Pattern:
    """One regular expression for every value the users typed in (longest first, so that a value is taken whole),
    and the names that are not interface text: the time zones' (IANA) and the languages' own (endonyms)."""
    values = {*values, *zoneinfo.available_timezones(), *(name for _code, name in settings.LANGUAGES)}
    values = sorted({value for value in values if value and len(value) >= 2}, key=len, reverse=True)
    return re.compile("|".join(re.escape(value) for value in values) or "(?!)")


def report(found: dict) -> str:
    """What a failing sweep prints: each page (or e-mail) and its texts that no translation marked."""
    lines = ["Text outside the translations (mark it for translation, README 'Languages'):"]
    for where, texts in sorted(found.items()):
        lines += [f"  {where}:", *(f"      {text!r}" for text in texts)]
    return "\n".join(lines)
