"""gunicorn hooks for `newsstand serve` (passed as `--config python:newsstand.web.gunicorn_conf`;
the command line sets everything else)."""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

# Reader pages every worker serves; compiled before the first reader arrives.
_TEMPLATES = ("web/home.html", "web/article.html", "web/source.html", "web/tag.html", "web/story.html",
              "web/search.html")


def post_worker_init(worker) -> None:
    """Load what the first requests would otherwise load while readers wait (the URLconf and
    everything it imports, the compiled templates), then move all of it out of the garbage
    collector's sight with gc.freeze(): a full collection otherwise walks every object
    Django has loaded, stalling every thread of the worker for tens of milliseconds, and
    these objects live as long as the process anyway."""
    try:
        from django.template.loader import get_template
        from django.urls import get_resolver

        get_resolver().url_patterns  # noqa: B018 - imports every view module
        for name in _TEMPLATES:
            get_template(name)
    except Exception:  # a page that cannot load will say so when asked; serving goes on
        log.exception("warming up the web worker failed")
    gc.collect()
    gc.freeze()
