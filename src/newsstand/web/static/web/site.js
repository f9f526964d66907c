/* Newsstand: progressive enhancements. Every page works without this file; with it,
   times read in the reader's own language and zone, "load more" appends in place, and
   the keyboard shortcuts (j/k, /, ?, Esc) work. */
(function () {
  "use strict";

  /* ---- relative times -------------------------------------------------------------- */
  var locale = navigator.language || "en";
  var relative = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(locale, { numeric: "auto" }) : null;
  var exact = window.Intl ? new Intl.DateTimeFormat(locale, { dateStyle: "full", timeStyle: "short" }) : null;
  var STEPS = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400], ["hour", 3600], ["minute", 60]];

  function describe(seconds) {
    var abs = Math.abs(seconds);
    for (var i = 0; i < STEPS.length; i++) {
      if (abs >= STEPS[i][1]) return relative.format(Math.round(seconds / STEPS[i][1]), STEPS[i][0]);
    }
    return relative.format(0, "second");
  }

  function renderTimes(root) {
    if (!relative || !exact) return;
    var now = Date.now();
    root.querySelectorAll("time[data-reltime]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when.getTime())) return;
      el.textContent = describe((when.getTime() - now) / 1000);
      el.title = exact.format(when);
    });
  }

  /* ---- load more ------------------------------------------------------------------- */
  function loadMore(link) {
    var list = document.getElementById(link.getAttribute("data-load-more"));
    if (!list || link.getAttribute("aria-busy") === "true") return false;
    link.setAttribute("aria-busy", "true");
    fetch(link.href, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var incoming = doc.getElementById(list.id);
        var added = incoming ? Array.prototype.slice.call(incoming.children) : [];
        added.forEach(function (item) { list.appendChild(document.adoptNode(item)); });
        added.forEach(renderTimes);
        var next = doc.querySelector('[data-load-more="' + list.id + '"]');
        var holder = link.parentNode;
        if (next) { holder.replaceChild(document.adoptNode(next), link); } else { holder.remove(); }
        // Keyboard and screen-reader users continue from the first new article.
        var first = added.length && added[0].querySelector("a.headline");
        if (first) first.focus({ preventScroll: true });
      })
      .catch(function () { window.location.href = link.href; });
    return true;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-load-more]");
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    if (loadMore(link)) event.preventDefault();
  });

  /* ---- keyboard shortcuts ---------------------------------------------------------- */
  var help = document.getElementById("shortcuts");

  function openHelp() {
    if (help && !help.open && help.showModal) help.showModal();
  }

  function typing(target) {
    if (!target || !target.closest) return false;
    return !!target.closest("input, textarea, select, [contenteditable]:not([contenteditable=false])");
  }

  function move(step) {
    var items = Array.prototype.slice.call(document.querySelectorAll("[data-item]"));
    if (!items.length) return;
    var current = items.findIndex(function (item) { return item.contains(document.activeElement); });
    var index = current === -1 ? (step > 0 ? 0 : items.length - 1) : Math.min(Math.max(current + step, 0), items.length - 1);
    items.forEach(function (item) { item.classList.remove("current"); });
    var target = items[index];
    target.classList.add("current");
    var link = target.querySelector("a.headline") || target.querySelector("a");
    if (link) link.focus();
    target.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (event.key === "Escape") {
      if (help && help.open) help.close();
      return;
    }
    if (typing(event.target) || (help && help.open)) return;
    if (event.key === "j") { move(1); event.preventDefault(); }
    else if (event.key === "k") { move(-1); event.preventDefault(); }
    else if (event.key === "/") {
      var box = document.querySelector("[data-search-main]") || document.getElementById("site-q");
      if (box) { event.preventDefault(); box.focus(); box.select(); }
    } else if (event.key === "?") { event.preventDefault(); openHelp(); }
  });

  function start() {
    renderTimes(document);
    setInterval(function () { renderTimes(document); }, 60000);
    document.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });
    document.querySelectorAll("[data-help-open]").forEach(function (button) {
      button.addEventListener("click", openHelp);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
