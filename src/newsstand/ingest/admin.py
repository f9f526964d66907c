from django.contrib import admin

from newsstand.ingest.models import Feed, Source


class FeedInline(admin.TabularInline):
    model = Feed
    fields = ["url", "enabled", "last_status", "consecutive_errors", "next_poll_at"]
    readonly_fields = ["last_status", "consecutive_errors", "next_poll_at"]
    extra = 0


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["name", "homepage_url", "page_failures", "last_page_error_at"]
    search_fields = ["name", "homepage_url"]
    readonly_fields = ["page_failures", "last_page_error", "last_page_error_at", "created_at"]
    inlines = [FeedInline]


@admin.register(Feed)
class FeedAdmin(admin.ModelAdmin):
    list_display = ["url", "source", "enabled", "health", "last_status", "consecutive_errors",
                    "next_poll_at", "last_error"]
    list_filter = ["enabled", "last_status", "source"]
    search_fields = ["url", "title", "source__name"]
    list_select_related = ["source"]
    readonly_fields = ["etag", "last_modified", "last_polled_at", "last_success_at", "last_status",
                       "last_error", "last_error_at", "last_warning", "consecutive_errors", "entries_seen",
                       "format", "created_at"]
    actions = ["poll_now"]

    @admin.action(description="Poll now")
    def poll_now(self, request, queryset):
        from django.utils import timezone

        updated = queryset.update(next_poll_at=timezone.now())
        self.message_user(request, f"{updated} feed(s) will be polled on the scheduler's next tick.")
