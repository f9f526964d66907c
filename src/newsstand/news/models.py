"""What readers read: articles, and every URL an article is known by (for deduplication)."""

from django.db import models
from django.utils import timezone

from newsstand.ingest.models import Feed, Source


class ExtractionStatus(models.TextChoices):
    PENDING = "pending", "waiting for its page"
    DONE = "done", "full text from the page"
    FEED_ONLY = "feed", "text from the feed (the page failed or was thinner)"
    FAILED = "failed", "no text (page and feed both failed)"


class ArticleQuerySet(models.QuerySet):
    def visible(self):
        """Articles with something to read, for listings."""
        return self.exclude(extraction_status__in=[ExtractionStatus.PENDING, ExtractionStatus.FAILED])

    def latest(self):
        return self.visible().select_related("source").order_by("-published_at", "-id")


class Article(models.Model):
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="articles")
    feed = models.ForeignKey(Feed, on_delete=models.SET_NULL, null=True, blank=True, related_name="articles")
    url = models.URLField(max_length=2000, help_text="the publisher's URL (canonical when the page names one)")
    guid = models.CharField(max_length=1000, blank=True)
    title = models.CharField(max_length=1000)
    byline = models.CharField(max_length=500, blank=True)
    published_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    summary_html = models.TextField(blank=True, help_text="the feed's summary, sanitized")
    feed_content_html = models.TextField(blank=True, help_text="the feed's full content, sanitized")
    html = models.TextField(blank=True, help_text="the article body, sanitized")
    text = models.TextField(blank=True)
    image_url = models.URLField(max_length=2000, blank=True)
    language = models.CharField(max_length=20, blank=True)
    word_count = models.PositiveIntegerField(default=0)
    content_hash = models.CharField(max_length=64, blank=True, db_index=True)
    extraction_status = models.CharField(
        max_length=10, choices=ExtractionStatus.choices, default=ExtractionStatus.PENDING
    )
    extraction_error = models.TextField(blank=True)
    extraction_attempts = models.PositiveSmallIntegerField(default=0)
    # When its page task was last enqueued; the scheduler re-enqueues work that got lost.
    queued_at = models.DateTimeField(null=True, blank=True)
    # A lease: a worker that claims the page sets this; a crashed worker's claim expires.
    claimed_until = models.DateTimeField(null=True, blank=True)
    extracted_at = models.DateTimeField(null=True, blank=True)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [
            models.Index(fields=["source", "-published_at"], name="article_source_recent_idx"),
            models.Index(fields=["-published_at", "-id"], name="article_recent_idx"),
            models.Index(fields=["extraction_status", "claimed_until"], name="article_pending_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["feed", "guid"], condition=~models.Q(guid=""), name="article_unique_guid_per_feed"
            )
        ]

    def __str__(self) -> str:
        return self.title


class ArticleLink(models.Model):
    """Every normalized URL an article is known by: the feed's link, the page's final URL and
    its canonical link. The unique key is what makes the same article reached through
    different URLs land on one row, even when two workers race."""

    url_key = models.CharField(max_length=2000, unique=True)
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="links")

    def __str__(self) -> str:
        return self.url_key
