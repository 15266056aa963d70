"""Signing in against an LDAP directory or Active Directory (django-auth-ldap), configured by the LDAP_* settings.

The directory checks the password (it is never stored here) and says who the person is and which groups they are
in; accounts.services creates or refreshes the VM Lab account from that, with the role LDAP_ROLE_GROUPS grants.
An account that signs in with a VM Lab password is never taken over by a directory entry of the same name.

A directory that cannot be reached (or answers with an error) makes the sign-in fail with SIGN_IN_UNAVAILABLE on
the request, which the login form shows; it is not counted as a wrong password. Local accounts sign in regardless:
LoginBackend comes first.
"""

import logging
from functools import lru_cache
from types import SimpleNamespace

import ldap
from django.conf import settings
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from django_auth_ldap import config as ldap_config
from django_auth_ldap.backend import LDAPBackend, ldap_error

from accounts import services
from accounts.models import SignIn, User
from accounts.role_map import RoleMapping, granted_role, parse_role_map
from audit.context import for_request

logger = logging.getLogger(__name__)

SIGN_IN_UNAVAILABLE = _("Sign-in service unavailable: the directory does not answer. Try again in a few minutes.")

# LDAP_GROUP_TYPE: how group entries name their members.
GROUP_TYPES = {
    "groupOfNames": (ldap_config.GroupOfNamesType, "(objectClass=groupOfNames)"),
    "groupOfUniqueNames": (ldap_config.GroupOfUniqueNamesType, "(objectClass=groupOfUniqueNames)"),
    "posixGroup": (ldap_config.PosixGroupType, "(objectClass=posixGroup)"),
    "activeDirectory": (ldap_config.NestedActiveDirectoryGroupType, "(objectClass=group)"),
}
# The directory attributes (inetOrgPerson, and Active Directory's user class) the account's fields come from.
ATTRIBUTES = {"first_name": "givenName", "last_name": "sn", "email": "mail"}


def enabled() -> bool:
    return bool(settings.LDAP_SERVER_URI)


@lru_cache(maxsize=8)
def _role_groups(value: str) -> tuple[RoleMapping, ...]:
    return parse_role_map(value, "LDAP_ROLE_GROUPS")


def normalise_dn(dn: str) -> str:
    """A DN as the directory compares it: attribute names and values without case, no spaces around separators."""
    try:
        parts = ldap.dn.str2dn(dn)
    except ldap.DECODING_ERROR:
        return dn.strip().lower()
    return ldap.dn.dn2str(parts).lower()


def _settings() -> ldap_config.LDAPSettings:
    values = ldap_config.LDAPSettings(prefix="VMLAB_UNUSED_LDAP_")
    values.SERVER_URI = settings.LDAP_SERVER_URI
    values.BIND_DN = settings.LDAP_BIND_DN
    values.BIND_PASSWORD = settings.LDAP_BIND_PASSWORD
    values.START_TLS = settings.LDAP_START_TLS
    values.USER_SEARCH = ldap_config.LDAPSearch(
        settings.LDAP_USER_SEARCH_BASE, ldap.SCOPE_SUBTREE, settings.LDAP_USER_FILTER, attrlist=[*ATTRIBUTES.values()]
    )
    if settings.LDAP_GROUP_SEARCH_BASE:
        group_type, object_filter = GROUP_TYPES[settings.LDAP_GROUP_TYPE]
        values.GROUP_SEARCH = ldap_config.LDAPSearch(settings.LDAP_GROUP_SEARCH_BASE, ldap.SCOPE_SUBTREE, object_filter)
        values.GROUP_TYPE = group_type()
    # A directory that does not answer fails the sign-in within LDAP_TIMEOUT seconds instead of hanging it.
    values.CONNECTION_OPTIONS = {
        ldap.OPT_NETWORK_TIMEOUT: settings.LDAP_TIMEOUT,
        ldap.OPT_TIMEOUT: settings.LDAP_TIMEOUT,
        ldap.OPT_REFERRALS: 0,
    }
    # Accounts are created and refreshed by accounts.services (get_or_build_user), never by the library itself.
    values.ALWAYS_UPDATE_USER = False
    values.USER_ATTR_MAP = {}
    return values


def _attribute(ldap_user, name: str) -> str:
    values = (ldap_user.attrs or {}).get(ATTRIBUTES[name]) or [""]
    return values[0].strip()


class DirectoryBackend(LDAPBackend):
    """django-auth-ldap's backend on VM Lab's settings, creating and refreshing accounts through accounts.services."""

    @property
    def settings(self):
        if self._settings is None:
            self._settings = _settings()
        return self._settings

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not enabled() or username is None:
            return None
        self.request = request  # a backend instance serves one authenticate() call
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_user(self, user_id):
        # Sessions are tied to accounts.backends.LoginBackend; this backend only checks passwords.
        return None

    def get_group_permissions(self, user, obj=None):
        return set()  # roles decide every right (access.rights), not directory groups

    def get_or_build_user(self, username, ldap_user):
        """The VM Lab account of the directory entry `ldap_user`, created or refreshed. Raises the library's
        AuthenticationFailed (the sign-in fails) when the name belongs to a local or OIDC account."""
        request = self.request
        context = for_request(request) if hasattr(request, "META") else None
        account = User.objects.with_username(username).first()
        if account is not None and account.sign_in != SignIn.LDAP:
            logger.warning(
                "directory entry %s not signed in: %s is a %s account", ldap_user.dn, account, account.sign_in
            )
            raise ldap_user.AuthenticationFailed("the username belongs to an account that is not a directory one")
        groups = ldap_user.group_dns if self.settings.GROUP_SEARCH is not None else set()
        granted = granted_role(groups, _role_groups(settings.LDAP_ROLE_GROUPS), normalise_dn)
        personal = {name: _attribute(ldap_user, name) for name in ATTRIBUTES}
        try:
            if account is None:
                account = services.external_user_create(
                    sign_in=SignIn.LDAP, username=username.lower(), granted=granted, context=context, **personal
                )
            else:
                account = services.external_user_refresh(
                    user=account,
                    granted=granted,
                    authoritative=settings.LDAP_ROLE_GROUPS_AUTHORITATIVE,
                    context=context,
                    **personal,
                )
        except services.ExternalAccountConflict as conflict:
            if request is not None:
                request.sign_in_problem = str(conflict)
            raise ldap_user.AuthenticationFailed(str(conflict)) from conflict
        return account, False


@receiver(ldap_error, sender=DirectoryBackend, dispatch_uid="accounts_directory_unavailable")
def _directory_unavailable(sender, context, user, request, exception, **kwargs):
    logger.error("LDAP directory error %s: %s", context, type(exception).__name__)
    if request is not None:
        request.directory_unavailable = True
        request.sign_in_problem = SIGN_IN_UNAVAILABLE


class DirectoryUnavailable(Exception):
    pass


def check_password(user: User, password: str) -> bool:
    """Whether the directory accepts `password` for the directory account `user` (and still knows them).
    Raises DirectoryUnavailable when it cannot say."""
    if not enabled() or user.sign_in != SignIn.LDAP:
        return False
    probe = SimpleNamespace()  # the backend notes a directory error on it, as on a request
    account = DirectoryBackend().authenticate(probe, username=user.get_username(), password=password)
    if getattr(probe, "directory_unavailable", False):
        raise DirectoryUnavailable(str(SIGN_IN_UNAVAILABLE))
    return account is not None and account.pk == user.pk
