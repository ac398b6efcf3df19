// The primary metric over time, one line per variant, from the series the page embeds
// (#series-data), drawn with the Chart.js the web app serves (window.Chart). The same figures are
// in the table under the chart.
const source = document.getElementById("series-data");
const canvas = document.getElementById("chart-primary");
const COLORS = ["#6b7280", "#2450c4", "#1e7d3a", "#b8560f", "#8a2be2", "#c2185b"];

if (source && canvas && window.Chart) {
  const series = JSON.parse(source.textContent);
  const rate = series.kind === "rate";
  const datasets = Object.entries(series.variants).map(([name, values], i) => ({
    label: name,
    data: values.map((v) => (v == null ? null : rate ? Math.round(v * 1000) / 10 : Math.round(v * 100) / 100)),
    borderColor: COLORS[i % COLORS.length],
    backgroundColor: COLORS[i % COLORS.length],
    spanGaps: true,
    pointRadius: values.length > 40 ? 0 : 2,
  }));
  new window.Chart(canvas, {
    type: "line",
    data: { labels: series.dates, datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      scales: { y: { title: { display: true, text: rate ? `${series.label} %` : series.label }, beginAtZero: rate } },
    },
  });
}
