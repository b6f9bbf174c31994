"""API authentication: session (pages) and HTTP Basic (scripts).

DRF answers 403 to an anonymous request when the first authenticator offers no
``WWW-Authenticate`` header. DESIGN §5 wants 401 for "not logged in", and a Basic challenge
would make browsers pop up a password dialog over our pages, so the session authenticator
names its own scheme.
"""

import threading
import time

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import SessionAuthentication, TokenAuthentication


class SessionAuthentication401(SessionAuthentication):
    def authenticate_header(self, request) -> str:
        return 'Session realm="gridmap"'


class SessionAuthentication401Scheme(OpenApiAuthenticationExtension):
    """Describes our session authenticator in the OpenAPI schema (as the plain session one)."""

    target_class = "gridmap.authentication.SessionAuthentication401"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


class CachedTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, remembering a token's user for ``TTL_S`` seconds.

    Devices (cameras, 4G units) post a report every few seconds with the same token; looking
    the token and its user up every time was a tenth of the cost of an intake. A revoked token
    or a deactivated user keeps working in a web process for at most ``TTL_S`` seconds.
    """

    TTL_S = 30.0
    _cache: dict[str, tuple[float, object, object]] = {}
    _lock = threading.Lock()

    def authenticate_credentials(self, key):
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1], hit[2]
        user, token = super().authenticate_credentials(key)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (now + self.TTL_S, user, token)
        return user, token
