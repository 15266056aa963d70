"""VM Lab settings: one module, every deployment-specific value read from the environment.

A local `.env` file (written by `make run`, never committed) is read first; real environment
variables win over it. See README.md, "Configuration", for every variable.
"""

import secrets
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy

from accounts.role_map import parse_role_map
from vmlab.core.crypto import parse_keys

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")


def env_number(name: str, default, *, low, high=None, unit: str = "", kind=int, low_exclusive: bool = False):
    """The number `name` from the environment, refused at start-up outside its range: from `low` (excluded if
    `low_exclusive`) to `high`, if any. `unit` tells the operator what the number counts."""
    value = (env.float if kind is float else env.int)(name, default=default)
    above_low = value > low if low_exclusive else value >= low
    if not above_low or (high is not None and value > high):
        if high is None:
            bounds = f"at least {low:g}"
        elif low_exclusive:
            bounds = f"more than {low:g} and at most {high:g}"
        else:
            bounds = f"between {low:g} and {high:g}"
        raise ImproperlyConfigured(f"{name} must be {bounds}" + (f" ({unit})." if unit else "."))
    return value


DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Generate one with: python -c "
            '"import secrets; print(secrets.token_urlsafe(50))" and set SECRET_KEY=<value> '
            "(`make run` writes one into .env for development)."
        )
    # Development only: sessions simply do not survive a restart.
    SECRET_KEY = secrets.token_urlsafe(50)
elif not DEBUG and (len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure")):
    raise ImproperlyConfigured(
        "SECRET_KEY is too weak for DEBUG=False: use at least 50 random characters, e.g. "
        '`python -c "import secrets; print(secrets.token_urlsafe(50))"`.'
    )

FIELD_ENCRYPTION_KEYS = parse_keys(env.str("FIELD_ENCRYPTION_KEYS", default=""))

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Lowest role that sees other users' shared VMs; "disabled" hides them from everyone.
VM_SHARING_MINIMUM_ROLE = env.str("VM_SHARING_MINIMUM_ROLE", default="manager")

INSTALLED_APPS = [
    # First: its runserver serves the ASGI application, so the terminal's WebSockets work in development too.
    "daphne",
    # The Django admin, whose login asks for the second factor too (accounts.admin_site).
    "accounts.admin_site.VMLabAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Django's form widget templates, found by TEMPLATES like the project's own (FORM_RENDERER below).
    "django.forms",
    # django-axes, under a name the admin can translate.
    "accounts.lockout_app.LoginLockoutConfig",
    # Second factors as django-otp devices: passkeys (WebAuthn); authenticator apps (seeds encrypted) and backup codes
    # (stored hashed) are accounts' own.
    "django_otp",
    "django_otp_webauthn",
    "accounts",
    "machines",
    "bookmarks",
    "audit",
    "channels",
    "connect",
    "access_requests",
    "jobs",
    "people",
    "dashboard",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
    # The task queue: its worker (`manage.py qcluster`) runs the periodic jobs and sends the e-mails (jobs app).
    "django_q",
    "backups",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from STATIC_ROOT (collectstatic), with far-future caching of hashed names.
    "vmlab.core.streaming.WhiteNoiseMiddleware",
    # Early, so that responses cut short by the middlewares below carry the policy too.
    "vmlab.core.middleware.ContentSecurityPolicyMiddleware",
    # The language for visitors: the footer switcher's cookie, else Accept-Language, else LANGUAGE_CODE.
    "django.middleware.locale.LocaleMiddleware",
    "vmlab.core.middleware.RequestBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed the second factor.
    "django_otp.middleware.OTPMiddleware",
    # A sign-in waiting for its second factor reaches the code form only; a user who must have a second factor
    # and has none reaches the enrolment pages only.
    "accounts.two_factor.middleware.SecondFactorMiddleware",
    # Every page needs a login unless its view says otherwise (@login_not_required) ...
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # ... and an approved account unless it allows newcomers (@new_user_allowed).
    "accounts.middleware.ApprovedUserRequiredMiddleware",
    # Dates and times in the user's own time zone (their profile), else TIME_ZONE.
    "accounts.middleware.UserTimeZoneMiddleware",
    # ... and in the language of their profile, when they chose one.
    "accounts.language.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A service's refusal that a view did not expect is a 404, as everything a user may not reach.
    "vmlab.core.middleware.PermissionDeniedIsNotFoundMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that it sees the lockout flag that a refused login set further in.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "vmlab.urls"
WSGI_APPLICATION = "vmlab.wsgi.application"
# HTTP and the terminal's WebSocket (vmlab.asgi); the WebSocket needs no channel layer.
ASGI_APPLICATION = "vmlab.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.context_processors.portal",
            ],
        },
    },
]

# Forms render their widgets with the engine above, so templates/django/forms/ may replace one of Django's widget
# templates with the same HTML drawn more cheaply (select.html: no include per option).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

# An empty DATABASE_URL (as compose files pass through) means the default, not "no database".
DATABASE_URL = env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
# "pgbouncer": DATABASE_URL leads to PgBouncer in transaction mode (`make serve-prod`, compose.yaml), which lends a
# server connection for one transaction at a time: a server-side cursor (QuerySet.iterator()) would outlive it.
DATABASE_POOLING = env.str("DATABASE_POOLING", default="") or "none"
if DATABASE_POOLING not in ("none", "pgbouncer"):
    raise ImproperlyConfigured(f"DATABASE_POOLING must be none or pgbouncer, not {DATABASE_POOLING!r}.")
if DATABASE_POOLING == "pgbouncer":
    if "postgresql" not in DATABASES["default"]["ENGINE"]:
        raise ImproperlyConfigured("DATABASE_POOLING=pgbouncer needs a PostgreSQL DATABASE_URL (PgBouncer's address).")
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Where `manage.py backup` writes its files (a relative path is taken from the project directory). The keys are
# never written there, and must not be kept there either: README.md, "Backups".
BACKUP_DIR = BASE_DIR / (env.str("BACKUP_DIR", default="") or "var/backups")
# The task queue's worker makes one every BACKUP_EVERY_HOURS (0: none) and keeps the BACKUP_KEEP newest.
BACKUP_EVERY_HOURS = env_number("BACKUP_EVERY_HOURS", 24, low=0, high=24 * 365, unit="hours")
BACKUP_KEEP = env_number("BACKUP_KEEP", 14, low=1, high=10000, unit="backup files")

# Rate limits and terminal counts live in the cache. Local memory (one process) by default, with room for the
# counters of many users; with several worker processes set CACHE_URL to Redis (redis://host:6379/0) so that
# every worker counts the same attempts. Sessions and lockout counters are in the database.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://?max_entries=100000")}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses every attempt, right password or not, while a username+IP pair is locked out.
    "axes.backends.AxesStandaloneBackend",
    # Local passwords first, so that local accounts sign in even while the directory is down.
    "accounts.backends.LoginBackend",
    # Each of these does nothing unless configured (LDAP_SERVER_URI, OIDC_ISSUER_URL).
    "accounts.directory.DirectoryBackend",
    "accounts.oidc.OIDCBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

# Signing in (README "Signing in"). LOCAL_LOGIN=false: only directory and OIDC accounts sign in, and the accounts
# holding access.rights.BREAK_GLASS (admins) with their local password.
LOCAL_LOGIN = env.bool("LOCAL_LOGIN", default=True)

# LDAP / Active Directory (accounts.directory): off while LDAP_SERVER_URI is empty.
LDAP_SERVER_URI = env.str("LDAP_SERVER_URI", default="")
LDAP_BIND_DN = env.str("LDAP_BIND_DN", default="")
LDAP_BIND_PASSWORD = env.str("LDAP_BIND_PASSWORD", default="")
LDAP_USER_SEARCH_BASE = env.str("LDAP_USER_SEARCH_BASE", default="")
LDAP_USER_FILTER = env.str("LDAP_USER_FILTER", default="(uid=%(user)s)")
LDAP_START_TLS = env.bool("LDAP_START_TLS", default=False)
LDAP_GROUP_SEARCH_BASE = env.str("LDAP_GROUP_SEARCH_BASE", default="")
LDAP_GROUP_TYPE = env.str("LDAP_GROUP_TYPE", default="groupOfNames")
LDAP_ROLE_GROUPS = env.str("LDAP_ROLE_GROUPS", default="")
LDAP_ROLE_GROUPS_AUTHORITATIVE = env.bool("LDAP_ROLE_GROUPS_AUTHORITATIVE", default=False)
LDAP_TIMEOUT = env_number("LDAP_TIMEOUT", 5.0, kind=float, low=0, low_exclusive=True, high=60, unit="seconds")
parse_role_map(LDAP_ROLE_GROUPS, "LDAP_ROLE_GROUPS")  # refused at start-up if malformed

# OpenID Connect (accounts.oidc, with mozilla-django-oidc): off while OIDC_ISSUER_URL is empty. The provider's
# endpoints and keys come from its discovery document, OIDC_ISSUER_URL/.well-known/openid-configuration.
OIDC_ISSUER_URL = env.str("OIDC_ISSUER_URL", default="").rstrip("/")
OIDC_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="single sign-on")
OIDC_SCOPES = env.str("OIDC_SCOPES", default="openid email profile")
OIDC_ROLE_CLAIM = env.str("OIDC_ROLE_CLAIM", default="groups")
OIDC_ROLE_MAP = env.str("OIDC_ROLE_MAP", default="")
OIDC_ROLE_MAP_AUTHORITATIVE = env.bool("OIDC_ROLE_MAP_AUTHORITATIVE", default=False)
OIDC_TIMEOUT = env_number("OIDC_TIMEOUT", 10.0, kind=float, low=0, low_exclusive=True, high=60, unit="seconds")
parse_role_map(OIDC_ROLE_MAP, "OIDC_ROLE_MAP")
# mozilla-django-oidc's own settings: the authorization code flow with PKCE, state and nonce, RS256 ID tokens.
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc:callback"
OIDC_VERIFY_SSL = True

# Second factor (accounts.two_factor): from this role up it is mandatory; "disabled" makes it optional for all.
TWO_FACTOR_REQUIRED_ROLE = env.str("TWO_FACTOR_REQUIRED_ROLE", default="manager")
OTP_WEBAUTHN_RP_NAME = "VM Lab"
# The relying party is the host the browser asked for (one of ALLOWED_HOSTS), and so is the expected origin.
OTP_WEBAUTHN_RP_ID_CALLABLE = "accounts.two_factor.passkeys.relying_party_id"
OTP_WEBAUTHN_HELPER_CLASS = "accounts.two_factor.passkeys.PasskeyHelper"
# Passkeys are a second factor only: the password (or the directory, or OIDC) comes first.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
# Password-reset links stay valid for one hour.
PASSWORD_RESET_TIMEOUT = 3600

# The pages, the e-mails and the Django admin speak these; locale/it/LC_MESSAGES holds the Italian catalogues
# (the .po files; `make` compiles the .mo files next to them). README "Languages" says how to add a string.
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", "English"), ("it", "Italiano")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# A visitor's choice in the footer's switcher lasts a year, on HTTPS only in production, like the session cookie.
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # collectstatic writes content-hashed copies (and gzip ones) that whitenoise serves with a one-year max-age.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Revealing a secret: at most this many attempts per user per minute.
REVEAL_RATE_LIMIT = env_number("REVEAL_RATE_LIMIT", 5, low=1, high=100, unit="attempts per user per minute")
# Request bodies (forms and uploads: SSH key files, bookmark imports of at most 2 MiB) larger than this
# are refused with 413 before Django reads them (vmlab.core.middleware, by Content-Length; under ASGI or with
# chunked bodies, cap them at the proxy as well). One view sets its own limit: the file-transfer upload takes
# SFTP_MAX_FILE_SIZE plus 64 KiB from logged-in users, so a proxy in front must let that much through there.
MAX_REQUEST_BODY = env.int("MAX_REQUEST_BODY", default=3 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY
# Importing VMs from a file (machines.imports): at most this many rows (VMs) in one file, which is also at most
# MAX_REQUEST_BODY bytes.
IMPORT_MAX_ROWS = env_number("IMPORT_MAX_ROWS", 5000, low=1, high=1_000_000, unit="rows of an imported file")

# The REST API (api app, README "API"). Personal access tokens last API_TOKEN_DEFAULT_DAYS unless their owner
# chooses otherwise, and at most API_TOKEN_MAX_DAYS; each token (or each browser session) may make API_RATE_LIMIT
# requests a minute, counted in the cache like the other limits.
API_TOKEN_MAX_DAYS = env_number("API_TOKEN_MAX_DAYS", 365, low=1, high=3650, unit="days")
API_TOKEN_DEFAULT_DAYS = min(90, API_TOKEN_MAX_DAYS)
API_RATE_LIMIT = env_number("API_RATE_LIMIT", 120, low=1, high=100_000, unit="requests per token per minute")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.BearerTokenAuthentication",
        "api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.ApprovedUser", "api.permissions.TokenScope"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.PerTokenThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "VM Lab API",
    "DESCRIPTION": 'VMs, bookmarks, people and the audit trail of VM Lab (README.md, "API").',
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["api.permissions.ApprovedUser"],
    "SERVE_AUTHENTICATION": [
        "api.authentication.BearerTokenAuthentication",
        "api.authentication.SessionAuthentication",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"RoleEnum": "access.roles.Role", "ScopeEnum": "accounts.models.TokenScope"},
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "api.schema.add_error_responses"],
}

# Connecting to VMs (the connect app): SSH_CONNECT_TIMEOUT seconds for name lookup, TCP, handshake and
# login together; a terminal with no keystroke for TERMINAL_IDLE_TIMEOUT minutes is closed; files moved
# over SFTP are at most SFTP_MAX_FILE_SIZE bytes each way.
SSH_CONNECT_TIMEOUT = env_number(
    "SSH_CONNECT_TIMEOUT", 10.0, kind=float, low=0, low_exclusive=True, high=120, unit="seconds"
)
TERMINAL_IDLE_TIMEOUT = env_number(
    "TERMINAL_IDLE_TIMEOUT", 15.0, kind=float, low=0, low_exclusive=True, high=24 * 60, unit="minutes"
)
# Connections one user may open to VMs in any 60 seconds (tests, file pages, terminals), and terminals open at once.
SSH_CONNECT_RATE_LIMIT = env_number(
    "SSH_CONNECT_RATE_LIMIT", 30, low=1, high=1000, unit="connections per user per minute"
)
TERMINAL_SESSIONS_PER_USER = env_number("TERMINAL_SESSIONS_PER_USER", 5, low=1, high=100)
SFTP_MAX_FILE_SIZE = env_number("SFTP_MAX_FILE_SIZE", 100 * 1024 * 1024, low=1, unit="bytes")

# Access over time. Reminders go out EXPIRY_WARNING_DAYS before an assignment or an account ends. Every VM is
# probed (TCP, SSH banner, host key) every REACHABILITY_INTERVAL minutes (0: never), REACHABILITY_CONCURRENCY at a
# time, each within REACHABILITY_TIMEOUT seconds.
EXPIRY_WARNING_DAYS = env_number("EXPIRY_WARNING_DAYS", 3, low=1, high=60, unit="days")
REACHABILITY_INTERVAL = env_number("REACHABILITY_INTERVAL", 5, low=0, high=24 * 60, unit="minutes; 0 turns probing off")
REACHABILITY_CONCURRENCY = env_number("REACHABILITY_CONCURRENCY", 50, low=1, high=1000, unit="probes at once")
REACHABILITY_TIMEOUT = env_number(
    "REACHABILITY_TIMEOUT", 5.0, kind=float, low=0, low_exclusive=True, high=60, unit="seconds"
)

# The task queue (django-q2). Its broker is the database by default, so a development copy needs nothing more;
# TASK_BROKER_URL=redis://host:6379/1 uses Redis instead (production). Every web server and worker of one site
# must use the same broker and the same TASK_QUEUE_NAME (the queue's name and its signing salt). Each worker
# process (`manage.py qcluster`) runs TASK_WORKERS tasks at once; any number of them, on any machine, share the
# queue, and a schedule is turned into a task by one of them only (the scheduler locks the schedule's row).
TASK_BROKER_URL = env.str("TASK_BROKER_URL", default="")
if TASK_BROKER_URL and not TASK_BROKER_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(
        "TASK_BROKER_URL must be a Redis URL (redis://host:6379/1), or empty to use the database as the broker."
    )
TASK_QUEUE_NAME = env.str("TASK_QUEUE_NAME", default="vmlab")
TASK_WORKERS = env_number("TASK_WORKERS", 2, low=1, high=64, unit="tasks at once per worker process")
Q_CLUSTER = {
    "name": TASK_QUEUE_NAME,
    "workers": TASK_WORKERS,
    # Probing every VM is the longest task; a task that runs longer is stopped, and retried once `retry` passes.
    "timeout": 900,
    "retry": 960,
    "max_attempts": 3,
    # A probe that was missed (the workers were down) is not worth catching up: run once, then on schedule.
    "catch_up": False,
    # The last 50 runs of each schedule (and of the e-mails) are kept: the worker page shows each one's last run.
    "save_limit": 50,
    "save_limit_per": "group",
    "label": gettext_lazy("Task queue"),
    **({"redis": TASK_BROKER_URL} if TASK_BROKER_URL else {"orm": "default"}),
}

# Login lockout (django-axes): AXES_FAILURE_LIMIT failed passwords for one username from one IP address
# lock that pair out for AXES_COOLOFF_MINUTES, wherever a user's own password is checked: the portal and
# admin logins, and the reveal, password-change and profile forms (accounts.lockout).
# Attempts are kept in the database, so every worker process sees the same count.
AXES_FAILURE_LIMIT = env_number("AXES_FAILURE_LIMIT", 5, low=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_number("AXES_COOLOFF_MINUTES", 15, low=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# "Alice" and "alice" are one account (usernames are unique whatever their case): one counter too.
AXES_USERNAME_CALLABLE = "accounts.lockout.username_for_lockout"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# Each failure is in the audit trail already; axes keeps its counters, not a second access log.
AXES_DISABLE_ACCESS_LOG = True
# Masked in axes' own records and log lines (it always masks "password").
AXES_SENSITIVE_PARAMETERS = [
    *["username", "ip_address", "csrfmiddlewaretoken", "account_password", "current_password", "old_password"],
    "otp_token",
    *["password1", "password2", "new_password1", "new_password2"],
]
AXES_RESET_ON_SUCCESS = True
# A lockout lasts AXES_COOLOFF_MINUTES from the failure that caused it; retrying meanwhile does not extend it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "vmlab.core.client_ip.lockout_ip"
# A sign-in refused because the directory was down is not counted (accounts.lockout.not_counted).
AXES_WHITELIST_CALLABLE = "accounts.lockout.not_counted"
AXES_VERBOSE = False

# EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, ... all from one URL, e.g.
# smtp+tls://user:password@mail.example.org:587 (console output by default).
globals().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="VM Lab <vmlab@localhost>")
# The site's address as people reach it, for the links in e-mails sent by the task queue (which has no request).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

SESSION_COOKIE_HTTPONLY = True
# Closing the browser ends the session unless an operator prefers "remember me" behaviour; either way
# a session lasts at most SESSION_COOKIE_AGE seconds (12 hours by default) after it was last saved.
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", default=True)
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# How many reverse proxies in front of VM Lab append to X-Forwarded-For. 0: the client's address is
# REMOTE_ADDR. With N, it is the N-th address from the right (what the outermost trusted proxy saw); the
# lockout and the audit trail both use it (vmlab.core.client_ip).
TRUSTED_PROXY_COUNT = env_number("TRUSTED_PROXY_COUNT", 0, low=0, high=10, unit="reverse proxies in front of VM Lab")
if env.bool("SECURE_PROXY_SSL", default=False):
    # Only behind a proxy that sets this header itself: otherwise clients could claim HTTPS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Preloading is a commitment the site's owner makes for the whole domain, not a default.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# Passkeys: the expected origin is the request's own (accounts.two_factor.passkeys.PasskeyHelper), whose host Django
# checked against ALLOWED_HOSTS, rather than a second list of origins to keep in step.
SILENCED_SYSTEM_CHECKS.append("otp_webauthn.E030")
X_FRAME_OPTIONS = "DENY"
# Sent on every response by vmlab.core.middleware.ContentSecurityPolicyMiddleware. The portal and the Django
# admin load scripts and styles from their own static files only: no inline code, no other origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # asyncssh logs every channel open and close at INFO; the audit trail already records each session.
    "loggers": {
        "asyncssh": {"level": env.str("SSH_LOG_LEVEL", default="WARNING")},
        # One line per task and per schedule run at INFO: the worker page shows the same.
        "django-q": {"level": env.str("TASK_LOG_LEVEL", default="INFO")},
    },
}
