"""The language of the pages: the user's own choice (their profile), else the language cookie that the footer's
switcher sets for visitors, else the browser's Accept-Language, else LANGUAGE_CODE (LocaleMiddleware does the last
three). E-mails go out in each recipient's language (`for_user`)."""

from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.utils import timezone, translation
from django.views.decorators.cache import cache_control
from django.views.decorators.http import last_modified, require_http_methods
from django.views.i18n import JavaScriptCatalog, set_language

from accounts.middleware import new_user_allowed

# The JavaScript catalogue only changes with a deployment: the server's start is a fair Last-Modified.
_STARTED = timezone.now()


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


# The footer's switcher posts here (Django's set_language: a cookie, then back to `next`). Open to visitors and to
# users awaiting approval, like the pages that show the switcher. A GET changes nothing and goes back.
choose_language = login_not_required(new_user_allowed(require_http_methods(["GET", "POST"])(set_language)))

# The strings of static/js/*.js in the active language, as a script from this origin (CSP `script-src 'self'`),
# cached by the browser for a day: base.html puts the language in its address, so a switch fetches the new one.
javascript_catalog = login_not_required(
    new_user_allowed(
        cache_control(max_age=86400, private=True)(last_modified(lambda request: _STARTED)(JavaScriptCatalog.as_view()))
    )
)
