from django.http import HttpResponse


def home(request):
    return HttpResponse("Newsstand")


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")
