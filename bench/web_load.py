"""Reader pages under load, as ratios to a trivial Django view on the same server in the same run
(the machine is shared and noisy; absolute requests/s mean little).

    .venv/bin/python bench/web_load.py                                  # 100,000 articles, 10 s per page
    .venv/bin/python bench/web_load.py --articles 5000 --duration 3     # a quick look

What it does:
  1. Fills a fresh SQLite database in a temp folder (`newsstand migrate`, then bulk_create) with
     N readable articles from 40 sources: real Wikinews text (up to six paragraphs each, a unique
     opening sentence), a lead image URL, 3 tags each (from 300), stories of 4 articles from 4
     outlets, and 3 related articles each (the rest of its story), so the article page and the home
     page have everything they can show.
  2. Starts `newsstand serve` (gunicorn, its default workers and threads unless --workers/--threads)
     on 127.0.0.1, with its default page cache (NEWSSTAND_PAGE_CACHE_SECONDS=30).
  3. Runs wrk with 16 connections against, in turn: /healthz (a view that does nothing: the
     baseline); the home page; one article page requested over and over ("hot article", the cache's
     best case); article pages spread over 1,000 ids drawn at random from the whole database, each
     request picking one at random, twice: "cold" (none of them cached yet, for --duration s) and
     at once after it "steady" (for one cache lifetime, 30 s: every entry the cold run made
     expires and is rendered again within it, as in a site where 1,000 articles are being read);
     then /healthz again. The baseline is the mean of the two /healthz runs. The other pages get a
     2 s warm-up of the same load first. The page cache's hits and misses during each measured
     run are read from /metrics (every worker's) and reported.
  4. Then the same server with the page cache off (NEWSSTAND_PAGE_CACHE_SECONDS=0), in the same
     run: home and the 1,000 article pages render on every request. These lines show what a page
     costs to render and carry no target (--no-uncached skips them).
  5. Reports for each page: requests/s divided by /healthz requests/s (target >= 0.5) and p99
     latency (target <= 50 ms); then the resident memory of every gunicorn worker after the cached
     run (target <= 150 MB each; the page cache is a file the workers share, not their memory)
     and whether any worker has torch mapped (it must never import it: checked in
     /proc/<pid>/maps, which lists every shared library a process has loaded).
Exit status is non-zero when a target is missed, wrk saw errors or non-2xx answers, or a page
could not be measured.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NEWSSTAND = ROOT / ".venv" / "bin" / "newsstand"
TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0
TARGET_RSS_MB = 150.0
CONNECTIONS = 16
SOURCES = 40
TAGS = 300
STORY_SIZE = 4
BASE_TIME = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)

SPREAD = 1000
SPREAD_LUA = """
local paths = {%s}
local n = #paths
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end
function init(args)
  math.randomseed(seed * 7919 + os.time())
end
function request()
  return wrk.format("GET", paths[math.random(n)])
end
"""


# --- the database ---------------------------------------------------------------------------------

def fill(n_articles: int, log) -> list[int]:
    """bulk_create everything in batches; returns the article ids."""
    from django.db import transaction

    from newsstand.demo.corpus import load_corpus
    from newsstand.ingest.models import Source
    from newsstand.news.models import Article, ArticleTag, ExtractionStatus, RelatedArticle, Story, Tag

    corpus = load_corpus()
    rnd = random.Random(42)
    sources = Source.objects.bulk_create(
        [Source(name=f"Outlet {i:02d}", homepage_url=f"https://outlet{i}.example/",
                favicon_url=f"https://outlet{i}.example/favicon.png", attribution=f"From Outlet {i:02d}")
         for i in range(SOURCES)])
    tags = Tag.objects.bulk_create(
        [Tag(slug=f"topic{i}", name=f"Topic{i}", article_count=0) for i in range(TAGS)])
    batch = 2000  # a multiple of STORY_SIZE, so stories never straddle batches
    started = time.perf_counter()
    ids: list[int] = []
    for start in range(0, n_articles, batch):
        count = min(batch, n_articles - start)
        with transaction.atomic():
            stories = Story.objects.bulk_create([
                Story(headline=corpus[(start + k) % len(corpus)].title,
                      first_seen_at=BASE_TIME - timedelta(minutes=start + k + STORY_SIZE),
                      last_updated_at=BASE_TIME - timedelta(minutes=start + k),
                      article_count=STORY_SIZE, source_count=STORY_SIZE)
                for k in range(0, count, STORY_SIZE)])
            rows = []
            for k in range(count):
                n = start + k
                doc = corpus[n % len(corpus)]
                paragraphs = [f"This is report {n} on the story, filed by desk {n % 17}.",
                              *doc.paragraphs[:6]]
                rows.append(Article(
                    source=sources[(n * 7 + n // STORY_SIZE) % SOURCES],
                    url=f"https://outlet{n % SOURCES}.example/news/{doc.slug}-{n}",
                    guid=f"bench-{n}", title=doc.title if n < len(corpus) else f"{doc.title} ({n})",
                    byline=f"Reporter {n % 50}",
                    published_at=BASE_TIME - timedelta(minutes=n),
                    first_seen_at=BASE_TIME - timedelta(minutes=n) + timedelta(seconds=30),
                    html="".join(f"<p>{p}</p>" for p in paragraphs),
                    text="\n\n".join(paragraphs),
                    summary_html=f"<p>{paragraphs[1] if len(paragraphs) > 1 else paragraphs[0]}</p>",
                    image_url=f"https://outlet{n % SOURCES}.example/images/{n}.jpg",
                    language="en", word_count=sum(len(p.split()) for p in paragraphs),
                    extraction_status=ExtractionStatus.DONE,
                    story=stories[k // STORY_SIZE],
                ))
            articles = Article.objects.bulk_create(rows)
            ids += [a.pk for a in articles]
            ArticleTag.objects.bulk_create([
                ArticleTag(article=a, tag=t, score=round(rnd.random(), 3))
                for a in articles for t in rnd.sample(tags, 3)])
            related = []
            for k, a in enumerate(articles):
                group = articles[k - k % STORY_SIZE: k - k % STORY_SIZE + STORY_SIZE]
                for rank, other in enumerate(o for o in group if o is not a):
                    related.append(RelatedArticle(article=a, related=other, score=0.9 - rank / 10,
                                                  reason="same story", rank=rank))
            RelatedArticle.objects.bulk_create(related)
            for s, k in zip(stories, range(0, count, STORY_SIZE)):
                s.first_article = articles[min(k + STORY_SIZE, count) - 1]
            Story.objects.bulk_update(stories, ["first_article"])
        if (start // batch) % 10 == 0:
            log(f"  {start + count:,} articles ({time.perf_counter() - started:.0f} s)")
    from django.db.models import Count

    counts = dict(ArticleTag.objects.values_list("tag").annotate(n=Count("id")).values_list("tag", "n"))
    for t in tags:
        t.article_count = counts.get(t.pk, 0)
    Tag.objects.bulk_update(tags, ["article_count"])
    return ids


# --- the server -----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict[str, str], port: int, log_file: Path, extra: list[str]) -> subprocess.Popen:
    out = log_file.open("ab")
    proc = subprocess.Popen([str(NEWSSTAND), "serve", "--host", "127.0.0.1", "--port", str(port), *extra],
                            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"newsstand serve exited ({proc.returncode}); see {log_file}")
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("newsstand serve did not answer /healthz within 60 s")


def workers_of(master: int) -> list[int]:
    try:
        text = Path(f"/proc/{master}/task/{master}/children").read_text()
    except OSError:
        return []
    return [int(pid) for pid in text.split()]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def has_torch(pid: int) -> bool:
    maps = Path(f"/proc/{pid}/maps").read_text()
    return "libtorch" in maps or "/torch/" in maps


def stop_server(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


_CACHE_LINE = re.compile(r'^newsstand_page_cache_total\{result="(\w+)",worker="(\d+)"\} (\d+)$', re.M)


def cache_counts(base: str, master: int) -> dict[str, int]:
    """Page cache hits/misses summed over the workers. /metrics is per process and a request
    reaches one worker, so it is asked until every worker has answered (or 40 times)."""
    workers = set(workers_of(master))
    seen: dict[tuple[str, int], int] = {}
    answered: set[int] = set()
    for _ in range(40):
        text = urllib.request.urlopen(base + "/metrics", timeout=30).read().decode()
        pid = re.search(r'newsstand_process_start_time_seconds\{worker="(\d+)"\}', text)
        if pid:
            answered.add(int(pid.group(1)))
        for result, worker, n in _CACHE_LINE.findall(text):
            seen[(result, int(worker))] = max(seen.get((result, int(worker)), 0), int(n))
        if answered >= workers:
            break
    totals: dict[str, int] = {}
    for (result, _), n in seen.items():
        totals[result] = totals.get(result, 0) + n
    return totals


# --- wrk ------------------------------------------------------------------------------------------

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def to_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * UNITS[unit]


def wrk(url: str, seconds: int, script: Path | None = None) -> dict:
    cmd = ["wrk", "-t", "2", "-c", str(CONNECTIONS), "-d", f"{seconds}s", "--latency", "--timeout", "10s"]
    if script:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if not (rps and p99 and total):
        raise SystemExit(f"could not read wrk's output:\n{out}")
    return {
        "rps": float(rps.group(1)), "p50": to_ms(p50.group(1)), "p99": to_ms(p99.group(1)),
        "requests": int(total.group(1)), "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "errors": sum(map(int, errors.groups())) if errors else 0,
    }


# --- main -----------------------------------------------------------------------------------------

def measure(env: dict[str, str], port: int, log_file: Path, extra: list[str], targets, log,
            memory: bool) -> dict:
    """Start the server and measure each target in turn, (name, path, lua script, warm-up
    seconds, seconds); with `memory`, the workers' RSS and torch check after the last run.
    Stops the server."""
    proc = start_server(env, port, log_file, extra)
    base = f"http://127.0.0.1:{port}"
    out: dict = {"results": {}, "cache": {}}
    try:
        for name, path, lua, warm, seconds in targets:
            page = not name.startswith("healthz")
            if warm:
                wrk(base + path, warm, lua)
            before = cache_counts(base, proc.pid) if page else {}
            r = out["results"][name] = wrk(base + path, seconds, lua)
            if page:
                after = cache_counts(base, proc.pid)
                out["cache"][name] = {k: after.get(k, 0) - before.get(k, 0) for k in ("hit", "miss", "bypass")}
            c = out["cache"].get(name)
            log(f"  {name:16} {r['rps']:8.1f} req/s  p50 {r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms  "
                f"({r['requests']} requests in {seconds} s, {r['non2xx']} non-2xx, {r['errors']} socket errors"
                + (f"; page cache {c['hit']} hits, {c['miss']} misses" if c and (c['hit'] or c['miss']) else "")
                + ")")
        workers = workers_of(proc.pid)
        out["workers"] = workers
        if memory:
            out["memory"] = {pid: rss_mb(pid) for pid in workers}
            out["torch"] = {pid: has_torch(pid) for pid in workers}
    finally:
        stop_server(proc)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per page")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: `newsstand serve`'s)")
    parser.add_argument("--threads", type=int, help="threads per worker (default: `newsstand serve`'s)")
    parser.add_argument("--no-uncached", action="store_true", help="skip the run with the page cache off")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (database, server log)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")

    work = Path(tempfile.mkdtemp(prefix="newsstand-bench-web-"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "newsstand.settings", "NEWSSTAND_DATA_DIR": str(work),
           "NEWSSTAND_SECRET_KEY": "bench-" + os.urandom(16).hex(), "NEWSSTAND_DEBUG": "0",
           "NEWSSTAND_ALLOWED_HOSTS": "127.0.0.1", "NEWSSTAND_LOG_LEVEL": "WARNING"}
    env.pop("NEWSSTAND_PAGE_CACHE_SECONDS", None)  # the default, whatever this shell has
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    log = lambda msg: print(msg, flush=True)  # noqa: E731
    extra = [*(["--workers", str(args.workers)] if args.workers else []),
             *(["--threads", str(args.threads)] if args.threads else [])]
    try:
        t = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        log(f"Filling {args.articles:,} articles into {work / 'newsstand.sqlite3'} …")
        ids = fill(args.articles, log)
        fill_seconds = time.perf_counter() - t
        from django.db import connection

        connection.close()
        db_mb = (work / "newsstand.sqlite3").stat().st_size / 2**20
        log(f"  done in {fill_seconds:.0f} s ({db_mb:.0f} MB)")

        rnd = random.Random(7)
        spread = rnd.sample(ids, min(SPREAD, len(ids)))
        hot = spread[0]
        script = work / "spread.lua"
        script.write_text(SPREAD_LUA % ",".join(f'"/articles/{pk}"' for pk in spread))
        port = free_port()
        from django.conf import settings

        d, ttl = args.duration, max(args.duration, settings.NEWSSTAND_PAGE_CACHE_SECONDS)
        log(f"Page cache on (the default, {settings.NEWSSTAND_PAGE_CACHE_SECONDS} s), `newsstand serve {' '.join(extra)}`".rstrip() + ":")
        cached = measure(env, port, work / "server.log", extra, [
            ("healthz", "/healthz", None, 2, d), ("home", "/", None, 2, d),
            ("hot article", f"/articles/{hot}", None, 2, d),
            # No warm-up: the first run starts with none of the 1,000 cached (cold); the second
            # follows at once and lasts one cache lifetime, so every entry made in the first
            # expires and is rendered again within it, as in a steady state.
            ("spread cold", "/", script, 0, d), ("spread steady", "/", script, 0, ttl),
            ("healthz2", "/healthz", None, 2, d),
        ], log, memory=True)
        uncached = None
        if not args.no_uncached:
            log("Page cache off (NEWSSTAND_PAGE_CACHE_SECONDS=0), same server otherwise:")
            uncached = measure({**env, "NEWSSTAND_PAGE_CACHE_SECONDS": "0"}, free_port(), work / "server.log",
                               extra, [("healthz", "/healthz", None, 2, d), ("home", "/", None, 2, d),
                                       ("spread", "/", script, 2, d), ("healthz2", "/healthz", None, 2, d)],
                               log, memory=False)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    def baseline(run) -> float:
        return (run["results"]["healthz"]["rps"] + run["results"]["healthz2"]["rps"]) / 2

    ok = bool(cached["workers"])
    base = baseline(cached)
    print(f"\nWeb load: {args.articles:,} articles, `newsstand serve` on 127.0.0.1, wrk {CONNECTIONS} "
          f"connections, {args.duration} s per page; baseline /healthz {base:.0f} req/s "
          f"(mean of {cached['results']['healthz']['rps']:.0f} before and "
          f"{cached['results']['healthz2']['rps']:.0f} after)")
    rows = [("home", "home page /"), ("hot article", "article page, one hot article"),
            ("spread cold", f"article pages, {len(spread):,} ids, cold cache"),
            ("spread steady", f"article pages, {len(spread):,} ids, steady state")]
    for name, label in rows:
        r, c = cached["results"][name], cached["cache"].get(name, {})
        ratio = r["rps"] / base
        good = ratio >= TARGET_RATIO and r["p99"] <= TARGET_P99_MS and r["non2xx"] == 0 and r["errors"] == 0
        ok &= good
        hits = f", {c['hit'] / max(c['hit'] + c['miss'], 1):.1%} cache hits" if c else ""
        print(f"  {label:42} {ratio:.2f}x /healthz (target >= {TARGET_RATIO})  p99 {r['p99']:.1f} ms "
              f"(target <= {TARGET_P99_MS:.0f})  [{r['rps']:.0f} req/s, p50 {r['p50']:.1f} ms{hits}]"
              f"{'' if good else '  MISSED'}")
    if uncached:
        base_u = baseline(uncached)
        print(f"  with the page cache off (no target; baseline /healthz {base_u:.0f} req/s in that run):")
        for name, label in (("home", "home page /"), ("spread", f"article pages, {len(spread):,} ids")):
            r = uncached["results"][name]
            ok &= r["non2xx"] == 0 and r["errors"] == 0
            print(f"    {label:40} {r['rps'] / base_u:.2f}x /healthz  p99 {r['p99']:.1f} ms  "
                  f"[{r['rps']:.0f} req/s, p50 {r['p50']:.1f} ms]")
    for pid in cached["workers"]:
        memory, torch = cached["memory"][pid], cached["torch"][pid]
        good = memory <= TARGET_RSS_MB and not torch
        ok &= good
        print(f"  gunicorn worker {pid}: RSS {memory:.0f} MB after the cached run (target <= {TARGET_RSS_MB:.0f}); "
              f"torch {'LOADED' if torch else 'not loaded'}{'' if good else '  MISSED'}")
    if not cached["workers"]:
        print("  could not find the gunicorn workers")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
