from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("articles/<int:article_id>", views.article, name="article"),
    path("healthz", views.healthz, name="healthz"),
]
