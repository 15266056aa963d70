"""The Italian catalogues: up to date with the source, complete, and with the same placeholders as the English.

(The pseudo-locale sweep, test_pseudo_locale.py, checks the other half: that every visible string is marked.)"""

import datetime
import re
import shutil

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from access.roles import Role
from access_requests.services import request_create
from accounts import language
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.two_factor_helpers import authenticator_for
from vmlab.core import dates
from vmlab.core.numbers import grouped

CATALOGUES = sorted((settings.BASE_DIR / "locale").glob("*/LC_MESSAGES/*.po"))
ITALIAN = [path for path in CATALOGUES if path.parts[-3] == "it"]
# %(name)s, %s, %d (Python and Django templates' blocktranslate) and {name} (str.format, JavaScript's interpolate).
NOT_SOURCE = (".*", "staticfiles", "artifacts", "node_modules", "__pycache__", "*.mo", "*.sqlite3")
PLACEHOLDER = re.compile(r"%\(\w+\)[sdrf]|%[sdrf]|\{\w*\}")


def keys(catalogue: polib.POFile) -> set:
    return {(entry.msgctxt, entry.msgid, entry.msgid_plural) for entry in catalogue if not entry.obsolete}


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def test_there_is_an_italian_catalogue_for_the_pages_and_one_for_the_javascript():
    assert {path.name for path in ITALIAN} == {"django.po", "djangojs.po"}


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_the_catalogues_hold_every_marked_string_and_nothing_else(tmp_path, settings, monkeypatch, domain):
    """What makemessages would collect today is what the committed catalogue holds: no string is missing from it
    (it would stay English) and none is left over (a translator would work for nothing). Run on a copy of the
    source, as makemessages writes into the catalogues of the tree it reads."""
    copy = tmp_path / "source"
    shutil.copytree(settings.BASE_DIR, copy, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    monkeypatch.chdir(copy)
    settings.LOCALE_PATHS = [copy / "locale"]

    call_command("makemessages", locale=["it"], domain=domain, no_obsolete=True, verbosity=0)

    committed = polib.pofile(str(settings.BASE_DIR / "locale/it/LC_MESSAGES" / f"{domain}.po"))
    collected = polib.pofile(str(copy / "locale/it/LC_MESSAGES" / f"{domain}.po"))
    assert sorted(keys(collected) - keys(committed), key=str) == [], (
        "run: manage.py makemessages -l it (and -d djangojs)"
    )
    assert sorted(keys(committed) - keys(collected), key=str) == [], "strings no longer in the source"


@pytest.mark.parametrize("path", ITALIAN, ids=lambda path: path.name)
def test_every_italian_entry_is_translated_and_none_is_fuzzy(path):
    catalogue = polib.pofile(str(path))
    entries = [entry for entry in catalogue if not entry.obsolete]

    assert [entry.msgid for entry in entries if not entry.translated()] == []
    assert [entry.msgid for entry in entries if "fuzzy" in entry.flags] == []
    assert catalogue.percent_translated() == 100


@pytest.mark.parametrize("path", ITALIAN, ids=lambda path: path.name)
def test_every_italian_entry_keeps_the_placeholders_of_its_english(path):
    wrong = []
    for entry in polib.pofile(str(path)):
        if entry.obsolete:
            continue
        if entry.msgid_plural:
            english = placeholders(entry.msgid_plural)
            wrong += [entry.msgid for form in entry.msgstr_plural.values() if placeholders(form) != english]
        elif placeholders(entry.msgstr) != placeholders(entry.msgid):
            wrong.append(entry.msgid)

    assert wrong == []


def test_the_compiled_catalogues_are_built_from_the_current_po_files():
    """`make` compiles them (msgfmt); a .po edited since means `make messages` has not run."""
    for path in CATALOGUES:
        compiled = path.with_suffix(".mo")
        assert compiled.exists(), f"{compiled} is missing: run make messages"
        assert compiled.stat().st_mtime >= path.stat().st_mtime, f"{compiled} is older than its .po: make messages"


# -- Which language a page speaks -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_visitor_gets_the_language_their_browser_asks_for():
    italian = Client(headers={"accept-language": "it-IT,it;q=0.9,en;q=0.5"}).get(reverse("accounts:login"))
    english = Client(headers={"accept-language": "de-DE,en;q=0.5"}).get(reverse("accounts:login"))

    assert italian["Content-Language"] == "it"
    assert '<html lang="it">' in italian.text
    assert "Accedi" in italian.text
    assert english["Content-Language"] == "en"
    assert "Log in" in english.text


@pytest.mark.django_db
def test_a_browser_in_no_language_of_ours_gets_the_sites_default(settings):
    response = Client(headers={"accept-language": "ja"}).get(reverse("accounts:login"))

    assert response["Content-Language"] == settings.LANGUAGE_CODE == "en"


@pytest.mark.django_db
def test_the_footer_switcher_changes_a_visitors_language_and_goes_back_to_the_page():
    client = Client(headers={"accept-language": "en"})
    page = client.get(reverse("accounts:register"))
    assert 'action="/language/"' in page.text
    assert '<option value="it" lang="it">Italiano</option>' in page.text

    response = client.post(reverse("set_language"), {"language": "it", "next": reverse("accounts:register")})

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:register")
    assert client.get(reverse("accounts:register"))["Content-Language"] == "it"


@pytest.mark.django_db
def test_the_switcher_does_not_send_a_visitor_to_another_site():
    response = Client().post(reverse("set_language"), {"language": "it", "next": "https://elsewhere.example/"})

    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_the_profile_language_wins_over_the_browser(client):
    user = UserFactory(language="it")
    client.force_login(user)

    response = client.get(reverse("dashboard"), headers={"accept-language": "en"})

    assert response["Content-Language"] == "it"
    assert "Esci" in response.text  # Log out
    assert "language-switcher" not in response.text


@pytest.mark.django_db
def test_choosing_a_language_on_the_profile_saves_it_and_answers_in_it(client):
    user = UserFactory(time_zone="")
    client.force_login(user)
    form = client.get(reverse("accounts:profile")).context["form"]
    data = {name: form[name].value() or "" for name in form.fields if name != "current_password"}

    response = client.post(reverse("accounts:profile"), {**data, "language": "it"}, follow=True)

    user.refresh_from_db()
    assert user.language == "it"
    assert response["Content-Language"] == "it"
    assert "Il tuo profilo è stato salvato." in response.text


@pytest.mark.django_db
def test_a_language_we_do_not_speak_is_refused_on_the_profile(client):
    user = UserFactory()
    client.force_login(user)

    response = client.post(
        reverse("accounts:profile"), {"username": user.username, "email": user.email, "language": "fr"}
    )

    assert response.status_code == 200
    assert "fr" in response.context["form"].errors["language"][0]
    user.refresh_from_db()
    assert user.language == ""


@pytest.mark.django_db
def test_the_javascript_strings_come_in_the_pages_language_from_this_site():
    response = Client(headers={"accept-language": "it"}).get(reverse("javascript-catalog"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "django.catalog" in response.text
    assert "no-cache" in response["Cache-Control"]
    # Revalidated cheaply: unchanged since the catalogue was compiled.
    again = Client(headers={"accept-language": "it", "if-modified-since": response["Last-Modified"]})
    assert again.get(reverse("javascript-catalog")).status_code == 304


@pytest.mark.django_db
def test_the_django_admin_follows_the_language(client):
    client.force_login(UserFactory(role=Role.ADMIN, language="it"))

    response = client.get(reverse("admin:index"))

    assert response["Content-Language"] == "it"
    assert "Amministrazione sito" in response.text


# -- E-mails in their recipient's language ---------------------------------------------------------------------


def italian(message: str) -> str:
    with translation.override("it"):
        return translation.gettext(message)


@pytest.mark.django_db
def test_each_manager_reads_a_new_request_in_their_own_language(mailoutbox, django_capture_on_commit_callbacks):
    in_italian = UserFactory(role=Role.MANAGER, language="it", email="chiara@lab.example")
    in_english = UserFactory(role=Role.MANAGER, language="", email="chris@lab.example")
    requester = UserFactory(role=Role.REGULAR, username="giulia")

    with django_capture_on_commit_callbacks(execute=True):
        request_create(requester=requester, purpose="Tesi", until=timezone.now() + datetime.timedelta(days=30))

    subjects = {message.to[0]: message.subject for message in mailoutbox}
    assert subjects[in_english.email] == "[VM Lab] giulia asks for a VM"
    assert subjects[in_italian.email] == "[VM Lab] " + italian("%(user)s asks for a VM") % {"user": "giulia"}
    assert subjects[in_italian.email] != subjects[in_english.email]


@pytest.mark.django_db
def test_the_password_reset_email_speaks_the_accounts_language(mailoutbox):
    UserFactory(email="chiara@lab.example", language="it")

    Client(headers={"accept-language": "en"}).post(reverse("accounts:password_reset"), {"email": "chiara@lab.example"})

    assert [message.subject for message in mailoutbox] == [italian("Reset your VM Lab password")]


@pytest.mark.parametrize(
    "command",
    ["backup", "restore", "check_secrets", "seed_users", "setup_schedules", "import_vms", "rotate_encryption_keys"],
)
def test_every_command_of_ours_prints_its_help(command, capsys):
    """Their help is translated: argparse takes a str only, never a lazy translation."""
    with pytest.raises(SystemExit) as exit_:
        call_command(command, "--help")

    assert exit_.value.code == 0
    assert len(capsys.readouterr().out) > 200


@pytest.mark.parametrize(
    ("profile", "cookies", "accept", "expected"),
    [
        ("it", {"django_language": "en"}, "en", "it"),
        ("", {"django_language": "it"}, "en", "it"),
        ("", {}, "fr-FR,it;q=0.8,en;q=0.5", "it"),
        ("", {"django_language": "xx"}, "ja", "en"),
    ],
    ids=["profile", "switcher-cookie", "accept-language", "nothing-we-speak"],
)
def test_a_terminal_connection_speaks_what_a_page_would(profile, cookies, accept, expected):
    user = UserFactory.build(language=profile)
    scope = {"user": user, "cookies": cookies, "headers": [(b"accept-language", accept.encode())]}

    assert language.for_connection(scope) == expected


@pytest.mark.django_db
def test_a_sign_in_waiting_for_its_code_still_gets_the_scripts_strings_and_the_switcher(client):
    user = UserFactory(role=Role.REGULAR)
    authenticator_for(user)
    assert client.post(reverse("accounts:login"), {"username": user.username, "password": DEFAULT_PASSWORD}).url == (
        reverse("accounts:second_factor")
    )

    catalogue = client.get(reverse("javascript-catalog"))
    switched = client.post(reverse("set_language"), {"language": "it", "next": reverse("accounts:second_factor")})

    assert catalogue.status_code == 200
    assert switched.url == reverse("accounts:second_factor")
    assert client.cookies["django_language"].value == "it"


@pytest.mark.django_db
def test_a_manager_who_must_set_up_a_second_factor_gets_the_scripts_strings(client):
    client.force_login(UserFactory(role=Role.MANAGER))

    response = client.get(reverse("javascript-catalog"))

    assert response.status_code == 200
    assert "django.catalog" in response.text


@pytest.mark.parametrize(("language_code", "shown"), [("en", "5,000"), ("it", "5.000")])
def test_counts_and_dates_follow_the_language(language_code, shown):
    moment = datetime.datetime(2027, 3, 12, 14, 5, tzinfo=datetime.UTC)

    with translation.override(language_code), timezone.override(datetime.UTC):
        assert grouped(5000) == shown
        assert dates.moment(moment) == {"en": "12 March 2027, 14:05", "it": "12 Marzo 2027, 14:05"}[language_code]
