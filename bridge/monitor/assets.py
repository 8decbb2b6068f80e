"""The dashboard's only script and stylesheet, served same-origin (no CDN, no inline code)."""

JS = r"""
"use strict";
// Live updates: Server-Sent Events from /events carry HTML fragments rendered (and escaped) by
// the server, one per section; this swaps them in. EventSource reconnects on its own.
// Sound cue for new alerts: off by default; the choice is kept in localStorage.
var SOUND_KEY = "mtbridge.alertSound";
var newestAlert = -1;
function soundOn() { try { return localStorage.getItem(SOUND_KEY) === "1"; } catch (e) { return false; } }
function beep() {
  var AC = window.AudioContext || window.webkitAudioContext;
  if (!AC) { return; }
  var ctx = beep.ctx || (beep.ctx = new AC());
  var osc = ctx.createOscillator(), gain = ctx.createGain();
  osc.frequency.value = 880; gain.gain.value = 0.15;
  osc.connect(gain); gain.connect(ctx.destination);
  osc.start(); osc.stop(ctx.currentTime + 0.25);
  document.body.dataset.beeps = String(Number(document.body.dataset.beeps || "0") + 1);
}
function checkAlerts() {
  var el = document.getElementById("alerts-open");
  if (!el) { return; }
  var newest = Number(el.dataset.newest || "0");
  if (newestAlert >= 0 && newest > newestAlert && soundOn()) { beep(); }
  newestAlert = newest;
  document.body.classList.toggle("alerts-open", Number(el.dataset.open || "0") > 0);
}
(function () {
  var box = document.getElementById("alert-sound");
  if (box) {
    box.checked = soundOn();
    box.addEventListener("change", function () {
      try { localStorage.setItem(SOUND_KEY, box.checked ? "1" : "0"); } catch (e) { /* private mode */ }
    });
  }
  checkAlerts();
})();
(function () {
  if (document.body.dataset.live !== "1" || !window.EventSource) { return; }
  var es = new EventSource("/events" + window.location.search);  // the page's sort and search
  es.addEventListener("update", function (ev) {
    var msg = JSON.parse(ev.data);
    Object.keys(msg.sections).forEach(function (name) {
      var el = document.getElementById("sec-" + name);
      if (el) { el.innerHTML = msg.sections[name]; }
    });
    document.body.dataset.version = String(msg.version);
    checkAlerts();
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
.flash { padding: .5em .8em; border-radius: 4px; font-weight: bold; }
.flash-ok { background: #dff3e3; color: #15562a; } .flash-refused { background: #fff3c4; color: #6b4600; }
.flash-error { background: #fde2e0; color: #8c1d18; }
#dealer-actions button { margin: .15em .3em .15em 0; } .note { color: #556; }
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
.feed-stale, .feed-offline, .feed-no-answer { background: #b3261e; color: #fff; }
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
svg .grid-line { stroke: #eef0f4; stroke-width: 1; }
svg .axis-title { fill: #667; font-size: 9px; }
svg .last { fill: #2457c5; font-weight: bold; }
dl.stats { display: grid; grid-template-columns: max-content auto; gap: 2px 1em; background: #fff;
           padding: .5em 1em; border: 1px solid #dde; width: max-content; }
dl.stats dt { color: #556; } dl.stats dd { margin: 0; font-weight: bold; }
form.login { display: flex; flex-direction: column; gap: .6em; max-width: 22em; }
form.login input { width: 100%; }
.error { color: #b3261e; font-weight: bold; }
.alert-banner { margin: .2em 0; padding: .3em .6em; border-radius: 3px; }
.alert-banner.has-open { background: #b3261e; color: #fff; font-weight: bold; }
.alert-banner.has-open a { color: #fff; }
.alert-banner.none-open { background: #e6f4ea; color: #1a7f37; }
table.alerts tr.open.sev-alert td { background: #fde7e5; }
table.alerts tr.open.sev-warn td { background: #fff6d6; }
table.alerts tr.acked td { color: #667; }
table.alerts td.text { min-width: 16em; }
label.sound { font-size: .8em; font-weight: normal; margin-left: 1em; }
body.alerts-open #nav-alerts { background: #b3261e; color: #fff; padding: 0 .4em; border-radius: 3px; }
form.filter { margin: .5em 0; }
th[data-col] a { color: inherit; text-decoration: none; } th[aria-sort] { background: #dde3f7; }
form#desk-search input[type=search] { max-width: 60vw; }
.scroll { overflow-x: auto; max-width: 100%; }
.side-buy { color: #1a5fb4; } .side-sell { color: #a51d2d; }
.pos { color: #1a7f37; } .neg { color: #b3261e; }
@media (max-width: 700px) {
  body { margin: 0 .5em 1em; font-size: 13px; }
  nav .who { float: none; display: block; }
  table.grid { display: block; overflow-x: auto; max-width: 100%; min-width: 0; }
  table.grid th, table.grid td { padding: 2px 4px; }
  svg.chart { max-width: 100%; height: auto; }
  .charts a { max-width: 100%; }
  dl.stats { width: auto; }
  ol.events { font-size: 11px; }
  p.status { overflow-wrap: anywhere; }
  #trades-table td, #positions-table td, #exposure-table td { white-space: nowrap; }
}
.empty { color: #778; }
"""
