"""Request guards that must run before any body is read."""

import json

from django.conf import settings
from django.http import HttpResponse


class RequestSizeLimitMiddleware:
    """Refuses API bodies over ``KEHU_API_MAX_BODY_BYTES`` with 413 in the API's error shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            limit = settings.API_MAX_BODY_BYTES
            if request.path.startswith("/api/v1/imports"):  # file uploads stream to disk
                limit = settings.IMPORT_MAX_FILE_BYTES
            if length > limit:
                body = {
                    "error": {
                        "code": "request_too_large",
                        "message": f"The request body is larger than {limit} bytes.",
                        "details": [],
                    }
                }
                return HttpResponse(json.dumps(body), status=413, content_type="application/json")
        return self.get_response(request)


class DomainErrorPageMiddleware:
    """Web pages answer a service's NotFound with the 404 page and PermissionDenied with 403.

    (The API has its own handlers that answer in its JSON error shape.)
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
        from django.http import Http404
        from django.views import defaults

        from kehu.core.errors import NotFound, PermissionDenied

        if request.path.startswith("/api/"):
            return None
        if isinstance(exception, NotFound):
            return defaults.page_not_found(request, Http404(str(exception)))
        if isinstance(exception, PermissionDenied):
            return defaults.permission_denied(request, DjangoPermissionDenied(str(exception)))
        return None
