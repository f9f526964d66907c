"""A pool task that kills its process the first time, as the OOM killer would (for
test_cli; its own module, free of Django, so a spawned pool process can import it)."""

import os

from newsstand.ingest.entries import read_feed


def read_feed_after_dying_once(*args, **kwargs):
    marker = os.environ["NEWSSTAND_TEST_DIE_ONCE"]
    if os.getpid() != int(os.environ["NEWSSTAND_TEST_PARENT"]) and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return read_feed(*args, **kwargs)
