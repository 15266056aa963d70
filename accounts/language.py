"""The language of the pages: the user's own choice (their profile), else the language cookie that the footer's
switcher sets for visitors, else the browser's Accept-Language, else LANGUAGE_CODE (LocaleMiddleware does the last
three). E-mails go out in each recipient's language (`for_user`)."""

import datetime
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.utils import translation
from django.utils.translation import trans_real
from django.views.decorators.cache import cache_control
from django.views.decorators.http import last_modified, require_http_methods
from django.views.i18n import JavaScriptCatalog, set_language

from accounts.middleware import new_user_allowed
from accounts.two_factor.middleware import enrolment_allowed, second_factor_step


class UserLanguageMiddleware:
    """After AuthenticationMiddleware: a signed-in user with a language on their profile gets it, whatever the
    browser asks for. LocaleMiddleware (earlier) has already chosen for everyone else and adds Content-Language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


@contextmanager
def for_user(user, default: str | None = None):
    """Render something (an e-mail) in `user`'s language: their profile's, else `default` (LANGUAGE_CODE unless
    said: the page being served speaks the actor's language, not necessarily the recipient's)."""
    with translation.override(user.language or default or settings.LANGUAGE_CODE):
        yield


def for_connection(scope) -> str:
    """The language of a WebSocket connection (the terminal), chosen as for a page: the user's profile, else the
    switcher's cookie, else the browser's Accept-Language, else LANGUAGE_CODE. No middleware runs for a socket."""
    user = scope.get("user")
    if user is not None and user.is_authenticated and user.language:
        return user.language
    asked = [scope.get("cookies", {}).get(settings.LANGUAGE_COOKIE_NAME, "")]
    accept = dict(scope.get("headers", [])).get(b"accept-language", b"").decode("latin-1")
    asked += [code for code, _quality in trans_real.parse_accept_lang_header(accept) if code != "*"]
    for code in filter(None, asked):
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


def _catalogue_changed(request, **kwargs):
    """When the JavaScript catalogues were last compiled (`make messages`): a browser asks again after a deploy."""
    compiled = [path.stat().st_mtime for path in Path(settings.LOCALE_PATHS[0]).glob("*/LC_MESSAGES/djangojs.mo")]
    return datetime.datetime.fromtimestamp(max(compiled, default=0), tz=datetime.UTC)


# The footer's switcher posts here (Django's set_language: a cookie, then back to `next`). Open to visitors, to users
# awaiting approval and to sign-ins between their password and their second factor, like the pages that show it.
choose_language = second_factor_step(
    enrolment_allowed(login_not_required(new_user_allowed(require_http_methods(["GET", "POST"])(set_language))))
)

# The strings of static/js/*.js in the active language, as a script from this origin (CSP `script-src 'self'`).
# base.html puts the language in its address; the browser revalidates it (a 304 until `make messages` runs again).
javascript_catalog = second_factor_step(
    enrolment_allowed(
        login_not_required(
            new_user_allowed(
                cache_control(private=True, no_cache=True)(
                    last_modified(_catalogue_changed)(JavaScriptCatalog.as_view())
                )
            )
        )
    )
)
