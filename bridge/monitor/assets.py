"""The dashboard's only script and stylesheet, served same-origin (no CDN, no inline code)."""

JS = r"""
"use strict";
// Live updates: Server-Sent Events from /events carry HTML fragments rendered (and escaped) by
// the server, one per section; this swaps them in. EventSource reconnects on its own.
(function () {
  if (document.body.dataset.live !== "1" || !window.EventSource) { return; }
  var es = new EventSource("/events");
  es.addEventListener("update", function (ev) {
    var msg = JSON.parse(ev.data);
    Object.keys(msg.sections).forEach(function (name) {
      var el = document.getElementById("sec-" + name);
      if (el) { el.innerHTML = msg.sections[name]; }
    });
    document.body.dataset.version = String(msg.version);
  });
  es.onerror = function () {
    var st = document.getElementById("feed-state");
    if (st) { st.textContent = "RECONNECTING"; st.className = "feed feed-stale"; }
  };
})();
"""

CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 1.5em 2em; background: #f6f7f9; color: #1b1f24; }
nav { padding: .6em 0; border-bottom: 1px solid #ccd; margin-bottom: .5em; }
nav a { margin-right: 1em; }
nav .who { float: right; }
form.inline { display: inline; }
h1 { font-size: 1.3em; } h2 { font-size: 1.05em; margin: 1em 0 .3em; }
table.grid { border-collapse: collapse; background: #fff; min-width: 40%; }
table.grid th, table.grid td { border: 1px solid #dde; padding: 2px 8px; }
table.grid th { background: #eef; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.status-margin_call td { background: #fff3c4; }
tr.status-margin_call td.status { color: #8a5a00; font-weight: bold; }
tr.status-stop_out td { background: #b3261e; color: #fff; }
tr.status-stop_out td a { color: #fff; }
tr.status-stop_out td.status { font-weight: bold; }
tr.status-ok td.status { color: #1a7f37; }
.feed { font-weight: bold; padding: 0 .4em; border-radius: 3px; }
.feed-live { background: #1a7f37; color: #fff; }
.feed-stale, .feed-offline { background: #b3261e; color: #fff; }
.feed-syncing, .feed-connecting { background: #d4a72c; color: #000; }
ol.events { list-style: none; padding: 0; margin: 0; max-height: 22em; overflow-y: auto; background: #fff;
            border: 1px solid #dde; font-family: ui-monospace, monospace; font-size: 12px; }
ol.events li { padding: 1px 6px; border-bottom: 1px solid #f0f0f4; }
ol.events time { color: #667; margin-right: .5em; }
li.sev-warn { color: #8a5a00; } li.sev-alert { color: #b3261e; font-weight: bold; }
.charts { display: flex; flex-wrap: wrap; gap: 8px; }
svg.chart { background: #fff; border: 1px solid #dde; }
svg .chart-frame { fill: none; stroke: #e3e3ea; }
svg .series { fill: none; stroke: #2457c5; stroke-width: 1.6; }
svg .threshold { stroke-dasharray: 4 3; stroke-width: 1; }
svg .threshold.mc { stroke: #d4a72c; } svg .threshold.so { stroke: #b3261e; }
svg text { font: 10px system-ui, sans-serif; fill: #445; }
svg .threshold-label.mc { fill: #8a5a00; } svg .threshold-label.so { fill: #b3261e; }
svg .chart-title { font-weight: bold; }
dl.stats { display: grid; grid-template-columns: max-content auto; gap: 2px 1em; background: #fff;
           padding: .5em 1em; border: 1px solid #dde; width: max-content; }
dl.stats dt { color: #556; } dl.stats dd { margin: 0; font-weight: bold; }
form.login { display: flex; flex-direction: column; gap: .6em; max-width: 22em; }
form.login input { width: 100%; }
.error { color: #b3261e; font-weight: bold; }
.empty { color: #778; }
"""
