"""State that only story intelligence needs, kept beside the news models rather than in them:
a story's running profile (so assigning an article never re-reads every member) and the
MinHash band keys that make near-duplicate lookup a plain indexed query on any database."""

from django.db import models

from newsstand.news.models import Article, Story


class StoryProfile(models.Model):
    """What an incoming article is compared with. Sums, not means, so adding an article is
    one update and removing one (repair) is exact."""

    story = models.OneToOneField(Story, on_delete=models.CASCADE, primary_key=True, related_name="profile")
    vector_sum = models.BinaryField(help_text="float32 sum of the members' unit vectors")
    vector_count = models.PositiveIntegerField(default=0)
    anchor = models.BinaryField(null=True, help_text="float32 vector of the article that started the story")
    # {entity slug: number of member articles naming it}
    entities = models.JSONField(default=dict)
    # {content word: sum over members of 1 + log(its count in the member's title and first
    # 1,000 body words)} (scoring.term_weight; before 2026-11 the number of members using it)
    terms = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"profile of story {self.story_id}"


class MinHashBand(models.Model):
    """One LSH band of an article's MinHash signature. Articles sharing any band key are
    near-duplicate candidates; the database index replaces datasketch's in-memory buckets so
    that every worker sees the same buckets."""

    key = models.BigIntegerField()
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["key"], name="intel_minhash_key_idx")]
        constraints = [models.UniqueConstraint(fields=["article", "key"], name="intel_minhash_unique")]


class TermStat(models.Model):
    """In how many articles a content word appeared (for IDF). The empty term counts the
    articles themselves."""

    term = models.CharField(max_length=100, primary_key=True)
    documents = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.term}: {self.documents}"
