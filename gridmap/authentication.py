"""API authentication: session (pages) and HTTP Basic (scripts).

DRF answers 403 to an anonymous request when the first authenticator offers no
``WWW-Authenticate`` header. DESIGN §5 wants 401 for "not logged in", and a Basic challenge
would make browsers pop up a password dialog over our pages, so the session authenticator
names its own scheme.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import SessionAuthentication


class SessionAuthentication401(SessionAuthentication):
    def authenticate_header(self, request) -> str:
        return 'Session realm="gridmap"'


class SessionAuthentication401Scheme(OpenApiAuthenticationExtension):
    """Describes our session authenticator in the OpenAPI schema (as the plain session one)."""

    target_class = "gridmap.authentication.SessionAuthentication401"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
