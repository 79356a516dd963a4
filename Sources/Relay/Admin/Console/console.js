"use strict";
(() => {
  const tokenKey = "webhook-relay-admin-token";
  const views = ["overview", "events", "buffer", "replay"];
  // One color per outcome on every chart; error codes take the warm ones, in order of appearance.
  const outcomeColors = { published: "#2e8540", buffered: "#1b6ac9", duplicate: "#546e7a", answered: "#00796b" };
  const errorColors = ["#b3261e", "#c05600", "#8b2fc9", "#a0522d", "#d81b60", "#5d4037"];
  const assigned = {};
  function colorOf(outcome) {
    if (outcomeColors[outcome]) return outcomeColors[outcome];
    if (!assigned[outcome]) assigned[outcome] = errorColors[Object.keys(assigned).length % errorColors.length];
    return assigned[outcome];
  }
  let token = sessionStorage.getItem(tokenKey);
  let current = null;
  let timer = null;
  let bufferAfter = null;
  let lastEvents = null;

  const $ = (id) => document.getElementById(id);
  const svgNS = "http://www.w3.org/2000/svg";

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function svg(tag, attributes) {
    const node = document.createElementNS(svgNS, tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
    return node;
  }

  function say(text) { $("status").textContent = text || ""; }

  class Unauthorized extends Error {}

  async function api(path, options) {
    const headers = { "Accept": "application/json" };
    if (token) headers["Authorization"] = "Bearer " + token;
    if (options && options.body) headers["Content-Type"] = "application/json";
    const response = await fetch(path, Object.assign({ cache: "no-store" }, options || {}, { headers }));
    const body = await response.json().catch(() => ({}));
    if (response.status === 401) throw new Unauthorized(body.message || "unauthorized");
    if (!response.ok) throw new Error((body.error ? body.error + ": " : "") + (body.message || "HTTP " + response.status));
    return body;
  }

  function query(form, names) {
    const parameters = new URLSearchParams();
    for (const name of names) {
      const value = form.elements[name] && form.elements[name].value.trim();
      if (value) parameters.set(name, value);
    }
    return parameters;
  }

  function time(milliseconds) { return new Date(milliseconds).toISOString().replace(".000Z", "Z"); }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "none";
    const s = Math.round(seconds);
    if (s < 120) return s + " s";
    if (s < 7200) return Math.round(s / 60) + " min";
    if (s < 172800) return Math.round(s / 3600) + " h";
    return Math.round(s / 86400) + " d";
  }

  function bytes(count) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let value = count, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return (unit === 0 ? value : value.toFixed(1)) + " " + units[unit];
  }

  function signedOut(message) {
    token = null;
    sessionStorage.removeItem(tokenKey);
    stopPolling();
    $("nav").hidden = true;
    for (const view of views) $(view).hidden = true;
    $("signin").hidden = false;
    $("token").value = "";
    $("signin-error").textContent = message || "";
    say("");
    $("token").focus();
  }

  function failed(error) {
    if (error instanceof Unauthorized) { signedOut("The admin token was refused."); return; }
    say("Error: " + error.message);
  }

  function stopPolling() { if (timer) { clearInterval(timer); timer = null; } }

  function show(view) {
    current = view;
    stopPolling();
    $("signin").hidden = true;
    $("nav").hidden = false;
    for (const name of views) $(name).hidden = name !== view;
    for (const button of document.querySelectorAll("#nav [data-view]")) {
      if (button.dataset.view === view) button.setAttribute("aria-current", "page");
      else button.removeAttribute("aria-current");
    }
    say("");
    const refresh = { overview: loadOverview, events: loadEvents, buffer: () => loadBuffer(false), replay: async () => {} }[view];
    refresh().catch(failed);
    if (view === "overview" || view === "events") {
      timer = setInterval(() => { refresh().catch(failed); }, 2000);
    }
  }

  // Overview

  function fact(list, name, value) {
    const group = element("div");
    group.append(element("dt", name), element("dd", value));
    list.append(group);
  }

  async function loadOverview() {
    const overview = await api("/admin/overview");
    if (current !== "overview") return;
    const facts = $("facts");
    facts.replaceChildren();
    const activity = overview.activity;
    fact(facts, "Kafka", overview.kafka);
    fact(facts, "Ready", overview.ready ? "yes" : "no");
    fact(facts, "Publish latency p50 / p99", activity.publish_samples === 0 ? "no publishes"
      : activity.publish_p50_ms.toFixed(1) + " ms / " + activity.publish_p99_ms.toFixed(1) + " ms");
    fact(facts, "Buffer pending", overview.buffer.pending + " (" + bytes(overview.buffer.pending_bytes) + ")");
    fact(facts, "Oldest pending", duration(overview.buffer.oldest_pending_age_seconds));
    fact(facts, "Dead", String(overview.buffer.dead));
    fact(facts, "Archived", overview.buffer.archived + " (" + bytes(overview.buffer.archived_bytes) + ")");
    fact(facts, "Buffer size", bytes(overview.buffer.total_bytes));
    fact(facts, "Version", overview.version + ", librdkafka " + overview.librdkafka_version);
    fact(facts, "Uptime", duration(overview.uptime_seconds));
    drawCharts(activity);
  }

  function drawCharts(activity) {
    const charts = $("charts");
    charts.replaceChildren();
    const sources = Object.keys(activity.sources).sort();
    if (sources.length === 0) { charts.append(element("p", "No requests in the last 15 minutes.")); return; }
    const width = 720, height = 180, left = 44, bottom = 22, top = 8;
    for (const source of sources) {
      const outcomes = Object.keys(activity.sources[source]).sort();
      const rates = outcomes.map((outcome) => activity.sources[source][outcome].map((count) => count / activity.bucket_seconds));
      const totals = rates[0].map((_, i) => rates.reduce((sum, series) => sum + series[i], 0));
      const peak = Math.max(0.1, ...totals);
      const figure = element("figure", null, "chart");
      const caption = element("figcaption");
      caption.append(element("strong", source), document.createTextNode(": last 10 s "
        + totals[totals.length - 1].toFixed(1) + " req/s, busiest 10 s " + Math.max(...totals).toFixed(1) + " req/s"));
      const chart = svg("svg", { viewBox: "0 0 " + width + " " + height, role: "img" });
      const title = svg("title");
      title.textContent = source + ": requests per second by outcome over the last 15 minutes";
      chart.append(title);
      const plotWidth = width - left - 4, plotHeight = height - top - bottom;
      chart.append(svg("line", { x1: left, y1: top + plotHeight, x2: width - 4, y2: top + plotHeight, class: "axis" }));
      chart.append(svg("line", { x1: left, y1: top, x2: left, y2: top + plotHeight, class: "axis" }));
      const peakLabel = svg("text", { x: left - 6, y: top + 10, "text-anchor": "end", class: "label" });
      peakLabel.textContent = peak.toFixed(1);
      const zeroLabel = svg("text", { x: left - 6, y: top + plotHeight, "text-anchor": "end", class: "label" });
      zeroLabel.textContent = "0";
      const startLabel = svg("text", { x: left, y: height - 4, class: "label" });
      startLabel.textContent = "−15 min";
      const endLabel = svg("text", { x: width - 4, y: height - 4, "text-anchor": "end", class: "label" });
      endLabel.textContent = "now";
      chart.append(peakLabel, zeroLabel, startLabel, endLabel);
      const legend = element("ul", null, "legend");
      rates.forEach((series, index) => {
        const step = plotWidth / Math.max(1, series.length - 1);
        const points = series.map((rate, i) => (left + i * step).toFixed(1) + "," + (top + plotHeight - (rate / peak) * plotHeight).toFixed(1));
        chart.append(svg("polyline", { points: points.join(" "), fill: "none", stroke: colorOf(outcomes[index]), "stroke-width": 2 }));
        const item = element("li");
        const swatch = element("span", null, "swatch");
        swatch.style.backgroundColor = colorOf(outcomes[index]);
        item.append(swatch, document.createTextNode(outcomes[index] + ": " + series.reduce((a, b) => a + b * activity.bucket_seconds, 0) + " requests"));
        legend.append(item);
      });
      figure.append(caption, chart, legend);
      charts.append(figure);
    }
  }

  // Events

  async function loadEvents() {
    const parameters = query($("events-filter"), ["source", "event_type", "status"]);
    parameters.set("limit", "100");
    const answer = await api("/admin/events?" + parameters.toString());
    if (current !== "events") return;
    // Redrawn only when something changed, so polling does not take the keyboard focus away.
    const rendered = JSON.stringify(answer.events);
    if (rendered === lastEvents) return;
    lastEvents = rendered;
    const body = $("events-table").tBodies[0];
    body.replaceChildren();
    for (const event of answer.events) {
      const row = element("tr");
      const where = event.status === "buffered"
        ? "buffered (" + (event.topic || "") + ")"
        : (event.status === "replayed" ? "replayed to " : "") + event.topic + " [" + event.partition + "] @" + event.offset;
      row.append(element("td", time(event.received_at)), element("td", event.id), element("td", event.source),
        element("td", event.event_type), element("td", where));
      const open = element("button", "Open");
      open.type = "button";
      open.setAttribute("aria-label", "Open " + event.id);
      open.addEventListener("click", () => openEvent(event).catch(failed));
      const cell = element("td");
      cell.append(open);
      row.append(cell);
      body.append(row);
    }
    if (answer.events.length === 0) {
      const row = element("tr");
      const cell = element("td", "No accepted deliveries yet.");
      cell.colSpan = 6;
      row.append(cell);
      body.append(row);
    }
  }

  function pretty(text) {
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch (error) { return text; }
  }

  async function openEvent(event) {
    const parameters = new URLSearchParams({ request_id: event.id, source: event.source, body: "true", limit: "10" });
    const page = await api("/admin/buffer/records?" + parameters.toString());
    const record = page.records[page.records.length - 1];
    $("event-detail").hidden = false;
    $("event-detail-title").textContent = event.source + " " + event.event_type + " " + event.id;
    const headers = $("event-headers").tBodies[0];
    headers.replaceChildren();
    if (!record) {
      $("event-detail-note").textContent = "Not in the buffer or archive (archive.retention 0, or past it).";
      $("event-body").textContent = "";
    } else {
      $("event-detail-note").textContent = "Record " + record.id + ", " + record.state + ", received " + record.received_at;
      for (const header of record.headers || []) {
        const row = element("tr");
        row.append(element("th", header.name), element("td", header.value === null ? "(null)" : header.value));
        row.firstChild.scope = "row";
        headers.append(row);
      }
      $("event-body").textContent = pretty(record.body || "");
    }
    $("event-detail-title").focus();
  }

  // Buffer

  async function loadBuffer(more) {
    const status = await api("/admin/buffer");
    $("buffer-summary").textContent = status.pending + " pending, " + status.dead + " dead, " + status.archived
      + " archived; " + bytes(status.total_bytes) + "; oldest pending " + duration(status.oldest_pending_age_seconds);
    const parameters = query($("buffer-filter"), ["state", "source", "event_type", "since", "until", "request_id"]);
    parameters.set("limit", "100");
    if (more && bufferAfter !== null) parameters.set("after", String(bufferAfter));
    const page = await api("/admin/buffer/records?" + parameters.toString());
    const body = $("buffer-table").tBodies[0];
    if (!more) body.replaceChildren();
    for (const record of page.records) {
      const row = element("tr");
      row.append(element("td", record.id), element("td", record.state), element("td", record.source),
        element("td", record.event_type), element("td", record.request_id), element("td", record.topic),
        element("td", record.received_at), element("td", record.attempts), element("td", record.reason || ""));
      body.append(row);
    }
    bufferAfter = page.next === undefined ? null : page.next;
    $("buffer-more").hidden = bufferAfter === null;
  }

  // Replay

  function instant(text) {
    if (!text) return undefined;
    const relative = /^(\d+)(s|m|h|d)$/.exec(text);
    if (relative) return Date.now() - Number(relative[1]) * { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[relative[2]];
    const parsed = Date.parse(text);
    if (Number.isNaN(parsed)) throw new Error("since and until take 24h, 30m or an RFC 3339 time");
    return parsed;
  }

  function replayRequest(dryRun, after) {
    const form = $("replay-filter");
    const value = (name) => form.elements[name].value.trim() || undefined;
    const filter = { state: value("state"), source: value("source"), event_type: value("event_type"),
      request_id: value("request_id"), since: instant(value("since")), until: instant(value("until")) };
    const request = { filter, topic: value("topic"), dry_run: dryRun, limit: 200 };
    if (after !== undefined && after !== null) request.after = after;
    return { method: "POST", body: JSON.stringify(request) };
  }

  let matched = 0;

  async function countReplay() {
    $("replay-confirm").hidden = true;
    $("replay-result").textContent = "";
    $("replay-progress").hidden = true;
    const result = await api("/admin/replay", replayRequest(true));
    matched = result.matched;
    $("replay-count").textContent = matched + " matching record" + (matched === 1 ? "" : "s") + " would be replayed (dry run).";
    $("replay-confirm").textContent = "Replay " + matched + " record" + (matched === 1 ? "" : "s");
    $("replay-confirm").hidden = matched === 0;
    if (matched > 0) $("replay-confirm").focus();
  }

  async function runReplay() {
    $("replay-confirm").hidden = true;
    const progress = $("replay-progress");
    progress.hidden = false;
    progress.max = Math.max(1, matched);
    progress.value = 0;
    let after = null, replayed = 0, failedCount = 0, skipped = 0, seen = 0;
    for (;;) {
      const result = await api("/admin/replay", replayRequest(false, after));
      replayed += result.replayed || 0;
      failedCount += result.failed || 0;
      skipped += result.skipped || 0;
      seen += result.matched;
      progress.value = Math.min(seen, progress.max);
      $("replay-result").textContent = "Replaying: " + replayed + " of " + matched + "…";
      if (result.last === undefined || result.last === null || result.matched === 0 || result.last === after) break;
      after = result.last;
    }
    $("replay-result").textContent = "Replayed " + replayed + " of " + matched
      + (failedCount ? ", " + failedCount + " failed" : "") + (skipped ? ", " + skipped + " skipped (being retried)" : "") + ".";
  }

  // Wiring

  document.addEventListener("DOMContentLoaded", () => {
    for (const button of document.querySelectorAll("#nav [data-view]")) {
      button.addEventListener("click", () => show(button.dataset.view));
    }
    $("sign-out").addEventListener("click", () => signedOut("Signed out."));
    $("signin-form").addEventListener("submit", (event) => {
      event.preventDefault();
      token = $("token").value.trim();
      api("/admin/overview").then(() => {
        sessionStorage.setItem(tokenKey, token);
        $("token").value = "";
        $("signin-error").textContent = "";
        show("overview");
      }).catch(failed);
    });
    $("events-filter").addEventListener("submit", (event) => {
      event.preventDefault();
      lastEvents = null;
      loadEvents().catch(failed);
    });
    $("buffer-filter").addEventListener("submit", (event) => { event.preventDefault(); loadBuffer(false).catch(failed); });
    $("buffer-more").addEventListener("click", () => loadBuffer(true).catch(failed));
    $("replay-filter").addEventListener("submit", (event) => { event.preventDefault(); countReplay().catch(failed); });
    $("replay-confirm").addEventListener("click", () => runReplay().catch(failed));
    // Signed in already (this tab), or no token configured: straight to the overview.
    api("/admin/overview").then(() => show("overview")).catch((error) => {
      if (error instanceof Unauthorized) signedOut(token ? "The admin token was refused." : "");
      else failed(error);
    });
  });
})();
