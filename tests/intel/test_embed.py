"""Embeddings: computed in batches by the real model, stored as float32 bytes, never loaded
by the web process."""

import subprocess
import sys

import numpy as np
import pytest

from newsstand.intel.embed import DIMENSIONS, from_bytes
from newsstand.intel.pipeline import embed_articles, process_intel
from newsstand.intel.text import EMBED_MAX_WORDS, ArticleText, embedding_input
from newsstand.news.models import Article
from tests.intel.stories_text import BRIDGE, UNRELATED

pytestmark = pytest.mark.django_db


def test_model_input_is_title_then_the_start_of_the_body():
    body = "Storm Darragh closes bridge. " + " ".join(f"word{i}" for i in range(1000))
    text = embedding_input(ArticleText("Storm Darragh closes bridge", body))
    assert text.startswith("Storm Darragh closes bridge. word0")  # the h1 repeated in the body is skipped
    assert len(text.split()) <= EMBED_MAX_WORDS
    assert embedding_input(ArticleText("", "")) == ""
    assert embedding_input(ArticleText("Only a title", "")) == "Only a title"


def test_vectors_are_stored_as_unit_float32_and_say_what_is_similar(make_article, embedder):
    same_a = make_article(*BRIDGE[0], source="A")
    same_b = make_article(*BRIDGE[1], source="B")
    other = make_article(*UNRELATED[0], source="C")
    assert embed_articles([same_a, same_b, other], embedder) == 3
    vectors = {}
    for article in Article.objects.all():
        assert isinstance(bytes(article.embedding), bytes) and len(bytes(article.embedding)) == DIMENSIONS * 4
        vectors[article.pk] = from_bytes(article.embedding)
        assert abs(np.linalg.norm(vectors[article.pk]) - 1) < 1e-4
    assert vectors[same_a.pk] @ vectors[same_b.pk] > vectors[same_a.pk] @ vectors[other.pk] + 0.3


def test_pipeline_embeds_only_what_lacks_a_vector(make_article):
    article = make_article(*BRIDGE[0])
    first = process_intel([article.pk])
    assert first["embedded"] == 1
    assert process_intel([article.pk])["embedded"] == 0


def test_the_web_side_never_imports_torch():
    code = ("import os, sys; os.environ['DJANGO_SETTINGS_MODULE']='newsstand.settings'; import django; "
            "django.setup(); import newsstand.urls, newsstand.intel.tasks, newsstand.intel.trending, "
            "newsstand.intel.models, newsstand.ingest.tasks; "
            "bad=[m for m in ('torch','sentence_transformers','transformers') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
