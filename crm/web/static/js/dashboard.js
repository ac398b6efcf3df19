// The CX dashboard: figures from GET /api/v1/metrics (overall, by channel, by period), drawn with the
// Chart.js the app serves itself (vendor/chartjs, window.Chart), each chart with its table beside it.
import { api, el, clear } from "./http.js";

const root = document.getElementById("dashboard");
const status = document.getElementById("dashboard-status");
const CHANNEL = { email: "Email", chat: "Chat", phone: "Phone", store: "Store", internal: "Agent" };
const COLORS = { nps: "#2450c4", csat: "#1e7d3a", ttr: "#b8560f" };

const fmt = {
  score: (v) => (v == null ? "—" : (Math.round(v * 10) / 10).toString()),
  pct: (v) => (v == null ? "—" : `${Math.round(v * 10) / 10}%`),
  money: (v, cur) => (v == null ? "—" : `${cur} ${Number(v).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`),
  duration: (s) => {
    if (s == null) return "—";
    if (s < 3600) return `${Math.round(s / 60)} min`;
    if (s < 86400) return `${(s / 3600).toFixed(1)} h`;
    return `${(s / 86400).toFixed(1)} days`;
  },
};

function tiles(m, currency) {
  const box = document.getElementById("kpis");
  clear(box);
  const items = [
    ["NPS", fmt.score(m.nps.value), `${m.nps.responses} responses: ${m.nps.promoters} promoters, ${m.nps.detractors} detractors`, "kpi-nps"],
    ["CSAT", fmt.pct(m.csat.value), `${m.csat.satisfied} of ${m.csat.responses} satisfied`, "kpi-csat"],
    ["CES", fmt.score(m.ces.value), `${m.ces.responses} responses`, "kpi-ces"],
    ["Churn rate", fmt.pct(m.churn_rate.value), `${m.churn_rate.churned} of ${m.churn_rate.active} active${m.churn_rate.complete ? "" : " (window not over yet)"}`, "kpi-churn"],
    ["Average CLTV", fmt.money(m.average_cltv.value, currency), `${m.average_cltv.customers} customers`, "kpi-cltv"],
    ["First response", fmt.duration(m.first_response_time.median_s), `median of ${m.first_response_time.responded} answered cases`, "kpi-frt"],
    ["Time to resolution", fmt.duration(m.time_to_resolution.median_s), `median of ${m.time_to_resolution.resolved} resolved cases`, "kpi-ttr"],
    ["Reopen rate", fmt.pct(m.reopen_rate.value), `${m.reopen_rate.reopened} of ${m.reopen_rate.resolved} resolved`, "kpi-reopen"],
  ];
  for (const [label, value, behind, id] of items) {
    box.append(el("div", { id }, el("dt", {}, label), el("dd", { class: "kpi-value" }, value), el("dd", { class: "muted" }, behind)));
  }
}

function table(container, head, rows) {
  clear(container);
  const t = el("table", {}, el("thead", {}, el("tr", {}, ...head.map((h, i) => el("th", { scope: "col", class: i ? "num" : null }, h)))));
  const body = el("tbody");
  for (const row of rows) body.append(el("tr", {}, ...row.map((c, i) => el("td", { class: i ? "num" : null }, c))));
  t.append(body);
  container.append(t);
}

function chart(id, config) {
  const canvas = document.getElementById(id);
  window.Chart.getChart(canvas)?.destroy();
  return new window.Chart(canvas, { ...config, options: { responsive: true, maintainAspectRatio: false, animation: false, ...config.options } });
}

const twoAxes = {
  y: { type: "linear", position: "left", min: -100, max: 100, title: { display: true, text: "NPS" } },
  y1: { type: "linear", position: "right", min: 0, max: 100, title: { display: true, text: "CSAT %" }, grid: { drawOnChartArea: false } },
};

function trend(periods) {
  const labels = periods.map((p) => p.key);
  chart("chart-trend", {
    type: "line",
    data: {
      labels,
      datasets: [
        { label: "NPS", data: periods.map((p) => p.metrics.nps.value), borderColor: COLORS.nps, backgroundColor: COLORS.nps, yAxisID: "y", spanGaps: true },
        { label: "CSAT %", data: periods.map((p) => p.metrics.csat.value), borderColor: COLORS.csat, backgroundColor: COLORS.csat, yAxisID: "y1", spanGaps: true },
      ],
    },
    options: { scales: twoAxes },
  });
  table(document.getElementById("table-trend"), ["From", "NPS", "responses", "CSAT", "responses"],
    periods.map((p) => [p.key, fmt.score(p.metrics.nps.value), p.metrics.nps.responses, fmt.pct(p.metrics.csat.value), p.metrics.csat.responses]));
}

function byChannel(groups) {
  const labels = groups.map((g) => CHANNEL[g.key] || g.key);
  chart("chart-channel", {
    type: "bar",
    data: {
      labels,
      datasets: [
        { label: "NPS", data: groups.map((g) => g.metrics.nps.value), backgroundColor: COLORS.nps, yAxisID: "y" },
        { label: "CSAT %", data: groups.map((g) => g.metrics.csat.value), backgroundColor: COLORS.csat, yAxisID: "y1" },
      ],
    },
    options: { scales: twoAxes },
  });
  table(document.getElementById("table-channel"), ["Channel", "NPS", "responses", "CSAT", "responses"],
    groups.map((g) => [CHANNEL[g.key] || g.key, fmt.score(g.metrics.nps.value), g.metrics.nps.responses, fmt.pct(g.metrics.csat.value), g.metrics.csat.responses]));
  table(document.getElementById("table-cases"), ["Channel", "First response", "Time to resolution", "Reopen rate", "Churn rate"],
    groups.map((g) => [CHANNEL[g.key] || g.key, fmt.duration(g.metrics.first_response_time.median_s),
      fmt.duration(g.metrics.time_to_resolution.median_s), fmt.pct(g.metrics.reopen_rate.value), fmt.pct(g.metrics.churn_rate.value)]));
}

function resolutionSpread(median) {
  const buckets = JSON.parse(document.getElementById("ttr-histogram").textContent);
  const total = buckets.reduce((n, b) => n + b.count, 0);
  document.getElementById("ttr-note").textContent = total
    ? `${total} resolved cases; median ${fmt.duration(median)}.`
    : "No case opened in this range is resolved yet.";
  chart("chart-ttr", {
    type: "bar",
    data: { labels: buckets.map((b) => b.label), datasets: [{ label: "Resolved cases", data: buckets.map((b) => b.count), backgroundColor: COLORS.ttr }] },
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
}

async function load() {
  if (!root.dataset.metricsUrl) { status.textContent = "The metrics API is not available in this version."; return; }
  const { since, until, period, channel, segment } = root.dataset;
  const query = new URLSearchParams({ since, until, period, by: "channel,period" });
  if (channel) query.set("channel", channel);
  if (segment) query.set("segment", segment);
  try {
    const body = await api(`${root.dataset.metricsUrl}?${query}`);
    tiles(body.overall, body.base_currency);
    trend(body.by_period || []);
    byChannel(body.by_channel || []);
    resolutionSpread(body.overall.time_to_resolution.median_s);
    status.textContent = "";
    root.dataset.loaded = "true";
  } catch (err) {
    status.textContent = `The figures could not be loaded: ${err.message}`;
  }
}

load();
