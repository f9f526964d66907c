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


class Story(models.Model):
    """One event covered by one or more outlets (filled by newsstand.intel)."""

    headline = models.CharField(max_length=1000)
    first_seen_at = models.DateTimeField(db_index=True)
    last_updated_at = models.DateTimeField(db_index=True)
    article_count = models.PositiveIntegerField(default=0)
    source_count = models.PositiveIntegerField(default=0, help_text="distinct outlets")
    # The article that broke the story (earliest published).
    first_article = models.ForeignKey("Article", on_delete=models.SET_NULL, null=True, blank=True,
                                      related_name="+")
    # Ranking for "top stories", recomputed by intel when the story changes.
    score = models.FloatField(default=0, db_index=True)

    class Meta:
        verbose_name_plural = "stories"
        ordering = ["-last_updated_at"]

    def __str__(self) -> str:
        return self.headline


class Tag(models.Model):
    """A hashtag: a normalized keyphrase or named entity ("#NationalCrimeAgency")."""

    class Kind(models.TextChoices):
        TOPIC = "topic", "topic"
        PERSON = "person", "person"
        ORGANIZATION = "org", "organization"
        PLACE = "place", "place"

    slug = models.SlugField(max_length=200, unique=True, help_text="lowercase key, e.g. nationalcrimeagency")
    name = models.CharField(max_length=200, help_text="display form without '#', e.g. NationalCrimeAgency")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TOPIC)
    article_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return "#" + self.name


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

    # Story intelligence (newsstand.intel); empty until it has run.
    story = models.ForeignKey(Story, on_delete=models.SET_NULL, null=True, blank=True, related_name="articles")
    # A wire copy or reprint points at the original (the earliest); shown as "also published by".
    duplicate_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="duplicates")
    embedding = models.BinaryField(null=True, blank=True, editable=False, help_text="float32 vector")
    tags = models.ManyToManyField(Tag, through="ArticleTag", related_name="articles", blank=True)

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


class ArticleTag(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)
    score = models.FloatField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["article", "tag"], name="articletag_unique")]
        indexes = [models.Index(fields=["tag", "article"], name="articletag_tag_idx")]


class RelatedArticle(models.Model):
    """Computed at ingest, never on the request path; `reason` is shown to readers."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="related_links")
    related = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    reason = models.CharField(max_length=200, help_text='e.g. "same story", "also about #Topic"')
    rank = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["article", "rank"]
        constraints = [models.UniqueConstraint(fields=["article", "related"], name="related_unique")]


class HeadlineChange(models.Model):
    """A headline an article had before the publisher retitled it."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="headline_history")
    title = models.CharField(max_length=1000)
    replaced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["article", "replaced_at"]
