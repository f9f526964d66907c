from django.contrib import admin
from django.urls import include, path, re_path

from newsstand.web import imageproxy, metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("newsstand.api.urls")),
    path("img/<str:signature>/<str:encoded>", imageproxy.image, name="image"),
    re_path(r"^img(?:/(?P<rest>.*))?$", imageproxy.unsigned, name="image-unsigned"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("", include("newsstand.web.urls")),
]
