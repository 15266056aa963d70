"""Personal access tokens on the profile page: create one (shown once), revoke one (accounts.tokens)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import tokens
from accounts.forms import ApiTokenForm
from accounts.models import ApiToken
from accounts.views.profile import render_profile
from audit.context import for_request


@require_POST
def token_create(request):
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            token, plaintext = tokens.token_create(user=request.user, context=for_request(request), **form.cleaned_data)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            response = render_profile(request, new_token=token, plaintext=plaintext)
            # Shown once: neither the browser's cache nor a proxy may keep the page.
            response["Cache-Control"] = "no-store"
            return response
    return render_profile(request, token_form=form, status=400)


@require_POST
def token_revoke(request, pk):
    token = get_object_or_404(ApiToken.objects.revocable_by(request.user), pk=pk)
    if tokens.token_revoke(token=token, actor=request.user, context=for_request(request)):
        messages.success(request, _("The token “%(name)s” is revoked: it opens nothing any more.") % {"name": token})
    return redirect("accounts:profile")
