"""/api/… routes. Every route here must be documented in openapi.py (tests/api/test_openapi.py
walks this list and fails otherwise). Add new routes above the catch-all."""

from django.urls import path, re_path

from newsstand.api import views

urlpatterns = [
    path("articles", views.article_list, name="api-articles"),
    path("articles/<int:article_id>", views.article_detail, name="api-article"),
    path("stories/<int:story_id>", views.story_detail, name="api-story"),
    path("sources", views.source_list, name="api-sources"),
    path("tags", views.tag_list, name="api-tags"),
    path("openapi.json", views.openapi_schema, name="api-openapi"),
    # Last: any other /api/ address answers a JSON 404, not an HTML page.
    re_path(r"^(?P<rest>.*)$", views.not_found, name="api-not-found"),
]
