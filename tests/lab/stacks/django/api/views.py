from django.http import JsonResponse


def data(request, scn):
    return JsonResponse({"ok": True, "method": request.method})


def fail(request, scn):
    raise RuntimeError("lab: failing route")
