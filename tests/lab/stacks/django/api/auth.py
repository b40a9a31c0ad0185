from django.http import JsonResponse


class AuthMiddleware:
    """Auth the lab can satisfy: any Authorization header, else 401."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "authorization" not in request.headers:
            return JsonResponse({"error": "unauthorized"}, status=401)
        return self.get_response(request)
