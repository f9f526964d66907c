from django.contrib.sitemaps import views as sitemap_views
from django.urls import path

from . import feeds, views
from .params import answers_bad_input
from .sitemaps import SITEMAPS

urlpatterns = [
    path("", views.home, name="home"),
    path("articles/<int:article_id>", views.article, name="article"),
    path("stories/<int:story_id>", views.story, name="story"),
    path("sources/<str:key>", views.source, name="source"),
    path("tags/<str:slug>", views.tag, name="tag"),
    path("search", views.search, name="search"),
    # Outgoing feeds: RSS 2.0 and Atom 1.0 of the same lists.
    path("feed.rss", feeds.LatestFeed(), name="feed-latest-rss"),
    path("feed.atom", feeds.atom(feeds.LatestFeed)(), name="feed-latest-atom"),
    path("sources/<str:key>/feed.rss", feeds.SourceFeed(), name="feed-source-rss"),
    path("sources/<str:key>/feed.atom", feeds.atom(feeds.SourceFeed)(), name="feed-source-atom"),
    path("tags/<str:slug>/feed.rss", feeds.TagFeed(), name="feed-tag-rss"),
    path("tags/<str:slug>/feed.atom", feeds.atom(feeds.TagFeed)(), name="feed-tag-atom"),
    path("search/feed.rss", answers_bad_input(feeds.SearchFeed()), name="feed-search-rss"),
    path("search/feed.atom", answers_bad_input(feeds.atom(feeds.SearchFeed)()), name="feed-search-atom"),
    path("sitemap.xml", sitemap_views.index, {"sitemaps": SITEMAPS, "sitemap_url_name": "sitemap-section"},
         name="sitemap"),
    path("sitemap-<section>.xml", sitemap_views.sitemap, {"sitemaps": SITEMAPS}, name="sitemap-section"),
    path("robots.txt", views.robots_txt, name="robots"),
    path("healthz", views.healthz, name="healthz"),
]
