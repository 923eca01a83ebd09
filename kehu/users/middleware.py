"""Activates a logged-in user's chosen language (``User.language``) for every request.

Runs after ``AuthenticationMiddleware``; ``LocaleMiddleware`` has already picked a language from
the cookie or the browser, and this overrides it with the user's stored choice, so the choice
follows the user to every device.
"""

from django.conf import settings
from django.utils import translation


class UserLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.languages = dict(settings.LANGUAGES)

    def __call__(self, request):
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        if language in self.languages:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
