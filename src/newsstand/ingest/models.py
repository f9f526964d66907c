"""Where news comes from: publishers (Source) and their feeds (Feed), with the polling state
that the scheduler reads and writes."""

from django.db import models
from django.utils import timezone


class Source(models.Model):
    """A publisher. Failures of its article pages are counted here ("per site"), so an admin
    can see at a glance that one publisher's pages stopped extracting."""

    name = models.CharField(max_length=200, unique=True)
    homepage_url = models.URLField(max_length=2000, blank=True)
    favicon_url = models.URLField(max_length=2000, blank=True)
    logo_url = models.URLField(max_length=2000, blank=True)
    # Attribution a license asks for, shown under each article, e.g. "From Wikinews, CC BY 2.5".
    attribution = models.CharField(max_length=300, blank=True)
    license_url = models.URLField(max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    page_failures = models.PositiveIntegerField(default=0)
    last_page_error = models.TextField(blank=True)
    last_page_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class FeedQuerySet(models.QuerySet):
    def due(self, now):
        return self.filter(enabled=True, next_poll_at__lte=now)


class Feed(models.Model):
    url = models.URLField(max_length=2000, unique=True)
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="feeds")
    title = models.CharField(max_length=500, blank=True)
    format = models.CharField(max_length=20, blank=True)
    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.TextField(blank=True)
    poll_interval = models.PositiveIntegerField(default=1800, help_text="seconds between polls")
    next_poll_at = models.DateTimeField(default=timezone.now)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="last HTTP status")
    last_error = models.TextField(blank=True, help_text="last failure, in plain words")
    last_error_at = models.DateTimeField(null=True, blank=True)
    # Notes about a feed that still worked (malformed but recovered, items skipped).
    last_warning = models.TextField(blank=True)
    consecutive_errors = models.PositiveIntegerField(default=0)
    entries_seen = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    objects = FeedQuerySet.as_manager()

    class Meta:
        ordering = ["url"]
        indexes = [models.Index(fields=["enabled", "next_poll_at"], name="feed_due_idx")]

    def __str__(self) -> str:
        return self.title or self.url

    @property
    def health(self) -> str:
        if not self.enabled:
            return "disabled"
        if self.consecutive_errors:
            return "failing"
        if self.last_success_at is None:
            return "new"
        return "ok"
