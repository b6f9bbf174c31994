"""Template context for every page: the navigation and the unread notifications."""

from django.http import HttpRequest

from .navigation import pages_for


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    current = request.path
    items = [
        {"key": page.key, "title": page.title, "url": url, "current": current.startswith(url)}
        for page, url in pages_for(user)
    ]
    return {"nav_pages": items, "unread_count": _unread(user)}


def _unread(user) -> int:
    from cases.models import Notification

    return Notification.objects.filter(user=user, read_at__isnull=True).count()
