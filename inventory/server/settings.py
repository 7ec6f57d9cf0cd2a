"""Django settings of the programme database (``inventory.server``).

Everything a deployment changes comes from the environment, so ``weee serve`` needs no
settings file of its own:

- ``WEEE_DATA_DIR``: where the embedded SQLite database and the secret key live
  (default ``~/.local/share/weee``);
- ``WEEE_DATABASE_URL``: a database URL (``postgres://user:pw@host/db``) for production;
- ``WEEE_SECRET_KEY``, ``WEEE_DEBUG``, ``WEEE_ALLOWED_HOSTS`` (comma-separated),
  ``WEEE_CSRF_TRUSTED_ORIGINS``, ``WEEE_HTTPS=1`` behind a TLS proxy;
- ``WEEE_CO2E_FACTOR_KG`` / ``WEEE_CO2E_FACTOR_SOURCE``: the impact factor of the reports.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

SERVER_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("WEEE_DATA_DIR") or Path.home() / ".local/share/weee")


def _secret_key() -> str:
    """The key from the environment, else one generated once and kept in the data dir.

    A fixed key in the source would let anyone forge admin sessions; a fresh key on every
    start would log every coordinator out at each restart.
    """
    if os.environ.get("WEEE_SECRET_KEY"):
        return os.environ["WEEE_SECRET_KEY"]
    path = DATA_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key)
        return key
    except OSError:
        # a read-only data dir (e.g. `weee manage --help` as another user): a throwaway key
        return secrets.token_urlsafe(50)


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("WEEE_DEBUG", "") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("WEEE_ALLOWED_HOSTS", "*").split(",") if h]
if os.environ.get("WEEE_HTTPS") == "1":
    # behind a TLS-terminating proxy: cookies only over HTTPS, and trust its header
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("WEEE_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "inventory.server.benches",
    "inventory.server.devices",
    "inventory.server.programme",
    "inventory.server.reports",
    "inventory.server.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "inventory.server.urls"
WSGI_APPLICATION = "inventory.server.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [SERVER_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]


def _database() -> dict[str, object]:
    url = os.environ.get("WEEE_DATABASE_URL")
    if url:
        return dict(dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True))
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(DATA_DIR / "weee.sqlite3"),
        "OPTIONS": {
            # several gunicorn workers write at once: take the write lock at BEGIN (no
            # deadlock-prone lock upgrades), wait for it instead of failing at once,
            # and let readers run beside the writer (WAL)
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [SERVER_DIR / "locale"]
USE_I18N = True
TIME_ZONE = os.environ.get("WEEE_TIME_ZONE", "Europe/Paris")
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
try:  # whitenoise warns at every request when it is missing, even with finders on
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
except OSError:
    pass
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# serve admin static files straight from the installed apps: `weee serve` needs no
# collectstatic step and no web server in front for a small programme
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Records are a few hundred kB at most (hardware report, one erasure report per drive).
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Identifiers shown to people: asset W-000123, tickets T-000045.
WEEE_ASSET_PREFIX = os.environ.get("WEEE_ASSET_PREFIX", "W")

# Impact reports: kg CO2e avoided per laptop that reaches a trainee, and where that figure
# comes from (printed on every report). Default: ADEME's 124 kg CO2e for manufacturing a
# new laptop, which reusing a refurbished one avoids; ADEME's 27 kg per extra year of use
# is left out, so the figure stays conservative. The programme's earlier action reported
# 24.505 t for 145 laptops (about 169 kg each, i.e. 124 kg + 27 kg x ~1.7 years): set
# WEEE_CO2E_FACTOR_KG=169 and say so in WEEE_CO2E_FACTOR_SOURCE to follow that method.
WEEE_CO2E_FACTOR_KG = float(os.environ.get("WEEE_CO2E_FACTOR_KG", "124"))
WEEE_CO2E_FACTOR_SOURCE = os.environ.get(
    "WEEE_CO2E_FACTOR_SOURCE",
    "ADEME: 124 kg CO2e to manufacture a new laptop, avoided when a refurbished laptop is "
    "reused instead (the 27 kg CO2e per extra year of use are not counted)",
)

# Maintenance tickets run this long from handover.
WEEE_TICKET_VALIDITY_YEARS = 3
WEEE_COHORT_SIZE = 8
# A record dated further than this in the future is refused: bench clocks drift, but a
# record "from next month" is a forged or broken one.
WEEE_RECORD_MAX_CLOCK_SKEW_HOURS = 24

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "weee.api": {"handlers": ["console"], "level": os.environ.get("WEEE_LOG_LEVEL", "INFO")},
    },
}
