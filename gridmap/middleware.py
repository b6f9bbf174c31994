"""Language choice: Simplified Chinese first, English when the user asks for it.

Django's LocaleMiddleware follows the browser's Accept-Language, so the same command centre
would show English on one console and Chinese on the next. Pages therefore speak
``LANGUAGE_CODE`` (zh-hans) unless the user picked a language with the switch in the top bar
(a cookie). API clients (``/api/``, ``/open311/``) still get their Accept-Language, so a script
can ask for English errors.
"""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class LanguageMiddleware(LocaleMiddleware):
    def process_request(self, request):
        if request.path.startswith(("/api/", "/open311/")):
            return super().process_request(request)
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _ in settings.LANGUAGES}
        if language not in supported:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
