"""Navigation (导航): the pages a user may open, and the page each role lands on.

Apps register their pages when they are ready (``register(Page(...))`` in ``AppConfig.ready``),
so the top bar shows only the pages of the user's role, and later pages add themselves without
touching the base template. ``home`` sends each user to the first page registered as the
landing page of their role.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import NoReverseMatch, reverse

Role = str


@dataclass(frozen=True)
class Page:
    """A page in the top bar.

    ``roles``: who may open it (None: every signed-in person, not devices); ``landing``: the
    roles that land on it after login; ``kwargs``: the URL arguments for a user (None when the
    page does not apply to them, e.g. a community page for a user without a community);
    ``staff``: only for staff (the admin).
    """

    key: str
    title: object
    url_name: str
    roles: frozenset[Role] | None = None
    landing: frozenset[Role] = field(default_factory=frozenset)
    order: int = 100
    staff: bool = False
    kwargs: Callable | None = None

    def allows(self, user) -> bool:
        if not user.is_authenticated or getattr(user, "role", "") == "device":
            return False
        if self.staff:
            return user.is_staff
        return self.roles is None or user.role in self.roles or user.is_superuser

    def url_for(self, user) -> str | None:
        arguments = self.kwargs(user) if self.kwargs else {}
        if arguments is None:
            return None
        try:
            return reverse(self.url_name, kwargs=arguments)
        except NoReverseMatch:
            return None


PAGES: dict[str, Page] = {}


def register(page: Page) -> None:
    """Add (or replace) a page of the navigation."""
    PAGES[page.key] = page


def pages_for(user) -> list[tuple[Page, str]]:
    """The pages ``user`` may open, in order, with their URLs."""
    found = []
    for page in sorted(PAGES.values(), key=lambda p: (p.order, p.key)):
        if page.allows(user) and (url := page.url_for(user)):
            found.append((page, url))
    return found


def landing_url(user) -> str | None:
    """Where ``user`` lands after login: their role's page, else the first page they may open."""
    pages = pages_for(user)
    for page, url in pages:
        if user.role in page.landing:
            return url
    return pages[0][1] if pages else None


def page_required(key: str):
    """View decorator: sign-in required, then 403 unless the user's role may open page ``key``."""
    from functools import wraps

    from django.contrib.auth.views import redirect_to_login
    from django.core.exceptions import PermissionDenied
    from django.utils.translation import gettext as _

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not PAGES[key].allows(request.user):
                raise PermissionDenied(_("Your role may not open this page."))
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
