"""Production settings: the defaults plus what `manage.py check --deploy` asks for.

Every secret must come from the environment here; nothing is generated.
"""
from integration_hub.kernel.config import ConfigError, bool_from_env, int_from_env
from integration_hub.settings import *  # noqa: F403
from integration_hub.settings import env

PRODUCTION = True
DEBUG = False


def _required(name: str) -> str:
    value = env.str(name, default="")
    if not value:
        raise ConfigError(f"{name} must be set in production (see .env.example).")
    return value


SECRET_KEY = _required("SECRET_KEY")
if len(SECRET_KEY) < 50:
    raise ConfigError("SECRET_KEY must be at least 50 random characters in production.")
FIELD_ENCRYPTION_KEY = _required("FIELD_ENCRYPTION_KEY")
_required("DATABASE_URL")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS:
    raise ConfigError("ALLOWED_HOSTS must list the host names the hub is served on.")

# Credentials go only to the vendors' own API hosts unless an operator names more (no localhost by default).
CONNECTOR_ALLOWED_HOSTS = env.list("CONNECTOR_ALLOWED_HOSTS", default=[])

SECURE_SSL_REDIRECT = bool_from_env("SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")  # behind a TLS-terminating proxy
SECURE_HSTS_SECONDS = int_from_env("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
SECURE_REFERRER_POLICY = "same-origin"
# Behind the TLS proxy every caller has the proxy's address: sign-in lockouts and API token throttling read the
# caller's from the X-Forwarded-For entry the proxy appended (set to the number of proxies that append one).
TRUSTED_PROXY_COUNT = int_from_env("TRUSTED_PROXY_COUNT", default=1, minimum=0)
