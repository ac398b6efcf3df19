// Search as you type: GET /api/v1/search after a short pause, the newest answer wins, results are
// rendered as the server renders them without script (customers first, then interactions).
import { api, debounce, el, clear } from "./http.js";

const input = document.getElementById("q");
const form = document.getElementById("search-form");
const results = document.getElementById("search-results");
const status = document.getElementById("search-status");
const TYPING_PAUSE_MS = 200;
const CHANNEL = { email: "Email", chat: "Chat", phone: "Phone", store: "Store", internal: "Agent" };

// Highlights come HTML-escaped with <em> marks; keep the marks as <mark> and everything else as text.
function marked(fragment) {
  const template = document.createElement("template");
  template.innerHTML = fragment;
  const out = document.createDocumentFragment();
  for (const node of template.content.childNodes) {
    out.append(node.nodeName === "EM" ? el("mark", {}, node.textContent) : document.createTextNode(node.textContent));
  }
  return out;
}

function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleString("en-GB", { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", timeZone: "UTC" }) + " UTC";
}

function customerItem(hit) {
  const c = hit.customer;
  const name = hit.highlight?.name ? marked(hit.highlight.name) : c.display_name || `Customer #${c.id}`;
  const ids = (hit.highlight?.identifiers || []).map((i) => el("span", { class: "badge" }, `${i.kind} `, marked(i.highlight)));
  const plain = [...(c.emails || []), ...(c.phones || [])].slice(0, 3).join(" · ");
  const seen = c.last_seen_at ? `last seen ${when(c.last_seen_at)}${c.last_channel ? ` on ${CHANNEL[c.last_channel] || c.last_channel}` : ""}` : "";
  return el(
    "li", { class: "hit hit-customer" },
    el("a", { class: "hit-title", href: `/customers/${c.id}` }, name),
    el("div", { class: "muted" }, plain),
    ids.length ? el("div", { class: "chips" }, ...ids) : null,
    el("div", { class: "muted" }, [`${c.interaction_count} interactions`, c.journey_stage, seen].filter(Boolean).join(" · ")),
  );
}

function interactionItem(hit) {
  const i = hit.interaction;
  const h = hit.highlight || {};
  const title = h.subject?.length ? marked(h.subject[0]) : i.subject || `${CHANNEL[i.channel] || i.channel} ${i.type}`;
  const href = i.customer_id ? `/customers/${i.customer_id}#timeline` : null;
  return el(
    "li", { class: "hit hit-interaction" },
    href ? el("a", { class: "hit-title", href }, title) : el("span", { class: "hit-title" }, title),
    el("div", { class: "muted" }, `${CHANNEL[i.channel] || i.channel} · ${i.type} · ${when(i.occurred_at)}${i.customer_name ? ` · ${i.customer_name}` : ""}`),
    ...(h.text || []).map((t) => el("div", { class: "snippet" }, "… ", marked(t), " …")),
    h.order_number ? el("div", {}, "Order ", marked(h.order_number[0])) : null,
  );
}

function section(kind, title, total) {
  let list = document.getElementById(`${kind}-found-list`);
  if (!list) {
    results.append(el("h2", { id: `${kind}-found` }, `${title} (${total})`));
    list = el("ol", { class: "results", id: `${kind}-found-list`, "aria-labelledby": `${kind}-found` });
    results.append(list);
  }
  return list;
}

// A first page replaces the results; "More results" appends the next page under them.
function render(body, append = false) {
  if (!append) clear(results);
  document.getElementById("more-results")?.remove();
  const customers = body.items.filter((h) => h.kind === "customer");
  const interactions = body.items.filter((h) => h.kind === "interaction");
  if (customers.length) section("customers", "Customers", body.total.customers).append(...customers.map(customerItem));
  if (interactions.length) section("interactions", "Interactions", body.total.interactions).append(...interactions.map(interactionItem));
  if (body.next_page) {
    const more = el("button", { type: "button", id: "more-results", class: "secondary" }, "More results");
    more.addEventListener("click", () => run(body.next_page));
    results.append(more);
  }
  const n = body.total.customers + body.total.interactions;
  const count = (k, word) => `${k} ${word}${k === 1 ? "" : "s"}`;
  status.textContent = n
    ? `${count(body.total.customers, "customer")} and ${count(body.total.interactions, "interaction")} match “${body.query}”.`
    : `Nothing matches “${body.query}”.`;
}

let inflight = null;
async function run(page = 1) {
  const q = input.value.trim();
  const url = new URL(window.location);
  if (q) url.searchParams.set("q", q); else url.searchParams.delete("q");
  window.history.replaceState(null, "", url);
  if (inflight) inflight.abort();
  if (!q) { clear(results); status.textContent = ""; return; }
  inflight = new AbortController();
  status.textContent = "Searching…";
  try {
    const query = new URLSearchParams({ q, per_page: 20, page });
    render(await api(`/api/v1/search?${query}`, { signal: inflight.signal }), page > 1);
  } catch (err) {
    if (err.name === "AbortError") return;
    status.textContent = err.problem?.errors?.q ? `Search: ${[].concat(err.problem.errors.q).join("; ")}` : `Search failed: ${err.message}`;
  }
}

input.addEventListener("input", debounce(() => run(1), TYPING_PAUSE_MS));
form.addEventListener("submit", (event) => { event.preventDefault(); run(1); });
