from django.contrib import admin

from newsstand.news.models import Article, ArticleLink


class ArticleLinkInline(admin.TabularInline):
    model = ArticleLink
    extra = 0


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "source", "published_at", "extraction_status", "word_count"]
    list_filter = ["extraction_status", "source", "language"]
    search_fields = ["title", "url", "guid"]
    date_hierarchy = "published_at"
    list_select_related = ["source"]
    raw_id_fields = ["feed"]
    readonly_fields = ["first_seen_at", "content_hash", "extraction_error", "extraction_attempts",
                       "extracted_at", "claimed_until", "queued_at"]
    inlines = [ArticleLinkInline]
