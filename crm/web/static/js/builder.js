// The segment builder: conditions as rows, a rule tree built from them, and a live preview
// (count, breakdown, a few members) from POST /api/v1/segments/preview, debounced as rules change.
import { api, debounce, el, clear } from "./http.js";

const root = document.getElementById("builder");
const options = JSON.parse(document.getElementById("builder-options").textContent);
const initial = JSON.parse(document.getElementById("builder-rule").textContent);
const list = document.getElementById("conditions");
const form = document.getElementById("builder-form");
const raw = document.getElementById("raw-rule");
const rawText = document.getElementById("raw-rule-json");
const count = document.getElementById("live-count");
const status = document.getElementById("preview-status");
const errors = document.getElementById("preview-errors");
const PREVIEW_DELAY_MS = 300;

const COUNT_OPS = [["gte", "at least"], ["lte", "at most"], ["eq", "exactly"], ["gt", "more than"], ["lt", "fewer than"]];
const pairs = (names) => names.map((n) => [n, n]);
const within = { name: "within_days", label: "in the last … days (empty: ever)", type: "number", min: 1, optional: true };

// What a row can say; `cond` is the rule's condition name when it differs from the key.
const KINDS = {
  interactions: {
    label: "Interactions", fields: [
      { name: "channel", label: "on channel", type: "select", options: pairs(options.channels), optional: true },
      { name: "type", label: "of kind", type: "select", options: pairs(options.types), optional: true },
      { name: "op", label: "count is", type: "select", options: COUNT_OPS },
      { name: "value", label: "number", type: "number", min: 0, value: 1 },
      within,
    ],
  },
  bought: {
    label: "Bought from a category", fields: [
      { name: "category", label: "category", type: "text", list: options.categories },
      within,
    ],
  },
  bought_sku: {
    label: "Bought a product", cond: "bought", fields: [{ name: "sku", label: "SKU", type: "text" }, within],
  },
  spend: {
    label: "Spend", fields: [
      { name: "op", label: "total is", type: "select", options: COUNT_OPS },
      { name: "value", label: "amount", type: "number", min: 0, step: "0.01", value: 100 },
      within,
    ],
  },
  ltv: {
    label: "Lifetime value", cond: "profile", fixed: { field: "ltv_amount" }, fields: [
      { name: "op", label: "is", type: "select", options: [["gte", "at least"], ["lte", "at most"], ["gt", "more than"], ["lt", "less than"]] },
      { name: "value", label: "amount", type: "number", min: 0, step: "0.01", value: 500 },
    ],
  },
  nps: {
    label: "Latest NPS", fields: [{ name: "category", label: "category", type: "select", options: pairs(["promoter", "passive", "detractor"]) }],
  },
  csat: { label: "Latest CSAT", fields: [{ name: "at_most", label: "at most", type: "number", min: 1, max: 5, step: "0.5", value: 3 }] },
  open_cases: {
    label: "Open cases", fields: [
      { name: "op", label: "count is", type: "select", options: COUNT_OPS },
      { name: "value", label: "number", type: "number", min: 0, value: 1 },
    ],
  },
  journey_stage: {
    label: "Journey stage", fixed: { op: "eq" }, fields: [{ name: "value", label: "is", type: "select", options: pairs(options.stages) }],
  },
  last_interaction: {
    label: "Last contact", fixed: { op: "within_last_days" }, fields: [
      { name: "channel", label: "on channel", type: "select", options: pairs(options.channels), optional: true },
      { name: "value", label: "within the last … days", type: "number", min: 1, value: 30 },
    ],
  },
  identifier: {
    label: "Has an identifier", fields: [{ name: "kind", label: "kind", type: "select", options: pairs(["email", "phone", "chat", "loyalty", "external"]) }],
  },
  attribute: {
    label: "Attribute", fields: [
      { name: "key", label: "key (e.g. address.city, custom.tier)", type: "text", value: "address.city" },
      { name: "op", label: "is", type: "select", options: [["eq", "equal to"], ["ne", "not equal to"], ["contains", "containing"], ["exists", "set"]] },
      { name: "value", label: "value", type: "text", optional: true },
    ],
  },
  segment: {
    label: "In segment", fields: [{ name: "segment_id", label: "segment", type: "select", options: options.segments.map((s) => [String(s.id), s.name]) }],
  },
};
let rowSeq = 0;

function fieldControl(spec, id, value) {
  let input;
  if (spec.type === "select") {
    input = el("select", { id, name: spec.name });
    if (spec.optional) input.append(el("option", { value: "" }, "any"));
    for (const [v, text] of spec.options) input.append(el("option", { value: v }, text));
    if (value != null) input.value = String(value);
  } else {
    input = el("input", { id, name: spec.name, type: spec.type });
    for (const attr of ["min", "max", "step"]) if (spec[attr] != null) input.setAttribute(attr, spec[attr]);
    if (spec.list && spec.list.length) {
      const listId = `${id}-list`;
      input.setAttribute("list", listId);
      const datalist = el("datalist", { id: listId });
      for (const v of spec.list) datalist.append(el("option", { value: v }));
      input._datalist = datalist;
    }
    input.value = value != null ? value : spec.value != null ? spec.value : "";
  }
  const wrap = el("div", { class: "field" }, el("label", { for: id }, spec.label), input);
  if (input._datalist) wrap.append(input._datalist);
  return wrap;
}

function renderParams(row, kind, values = {}) {
  const params = row.querySelector(".params");
  clear(params);
  for (const spec of KINDS[kind].fields) {
    params.append(fieldControl(spec, `${row.id}-${spec.name}`, values[spec.name]));
  }
}

function addRow(kind = "interactions", values = {}, negated = false) {
  const n = ++rowSeq;
  const row = el("li", { class: "condition", id: `cond-${n}` });
  const what = el("select", { id: `cond-${n}-what`, name: "what" });
  for (const [key, spec] of Object.entries(KINDS)) what.append(el("option", { value: key }, spec.label));
  what.value = kind;
  const not = el("input", { type: "checkbox", id: `cond-${n}-not`, name: "not" });
  not.checked = negated;
  const remove = el("button", { type: "button", class: "small secondary remove" }, "Remove");
  remove.setAttribute("aria-label", `Remove condition ${n}`);
  row.append(
    el("div", { class: "field" }, el("label", { for: what.id }, `Condition ${n}`), what),
    el("div", { class: "params" }),
    el("div", { class: "check" }, not, " ", el("label", { for: not.id }, "exclude those who match")),
    el("div", {}, remove),
  );
  list.append(row);
  renderParams(row, kind, values);
  what.addEventListener("change", () => { renderParams(row, what.value); schedule(); });
  remove.addEventListener("click", () => {
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    (next ? next.querySelector("select") : document.getElementById("add-condition")).focus();
    schedule();
  });
  return row;
}

function rowCondition(row) {
  const kind = row.querySelector('select[name="what"]').value;
  const spec = KINDS[kind];
  const out = { condition: spec.cond || kind, ...(spec.fixed || {}) };
  for (const f of spec.fields) {
    const input = row.querySelector(`[name="${f.name}"]`);
    const v = input.value.trim();
    if (v === "" && f.optional) continue;
    if (f.type === "number" || f.name === "segment_id") out[f.name] = v === "" ? null : Number(v);
    else out[f.name] = v;
  }
  if (kind === "attribute" && out.op === "exists") { out.value = true; }
  return row.querySelector('input[name="not"]').checked ? { not: out } : out;
}

export function currentRule() {
  if (!raw.hidden) return JSON.parse(rawText.value);
  const match = form.querySelector('input[name="match"]:checked').value;
  return { [match]: [...list.children].map(rowCondition) };
}

function kindOf(cond) {
  if (cond.condition === "bought" && cond.sku) return "bought_sku";
  if (cond.condition === "profile" && cond.field === "ltv_amount") return "ltv";
  if (cond.condition === "journey_stage" && cond.op !== "eq") return null;
  if (cond.condition === "last_interaction" && cond.op !== "within_last_days") return null;
  if (cond.condition === "profile") return null;
  return KINDS[cond.condition] ? cond.condition : null;
}

// A saved rule shows as rows when it is one flat all/any group of (possibly negated) conditions.
function load(rule) {
  if (!rule) { addRow(); return; }
  const match = rule.all ? "all" : rule.any ? "any" : null;
  const rows = match ? rule[match].map((node) => (node.not ? [node.not, true] : [node, false])) : null;
  if (!rows || rows.some(([c]) => !c.condition || !kindOf(c))) {
    raw.hidden = false;
    rawText.value = JSON.stringify(rule, null, 2);
    document.getElementById("add-condition").hidden = true;
    return;
  }
  form.querySelector(`#match-${match}`).checked = true;
  for (const [cond, negated] of rows) addRow(kindOf(cond), cond, negated);
}

function showErrors(problem) {
  clear(errors);
  const entries = Object.entries(problem.errors || {});
  if (!entries.length) errors.append(el("li", {}, problem.detail || problem.title || "The preview failed."));
  for (const [path, messages] of entries) {
    errors.append(el("li", {}, `${path}: ${[].concat(messages).map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join("; ")}`));
  }
}

function renderBreakdown(breakdown, total) {
  const box = document.getElementById("breakdown");
  clear(box);
  for (const [dimension, counts] of Object.entries(breakdown || {})) {
    const entries = Object.entries(counts || {}).sort((a, b) => b[1] - a[1]);
    if (!entries.length) continue;
    const title = `By ${dimension.replace(/_/g, " ")}`;
    const bars = el("ul", { class: "bars", "aria-label": title });
    for (const [key, value] of entries) {
      const width = total ? Math.round((100 * value) / total) : 0;
      bars.append(el("li", {}, el("span", {}, key || "none"), el("span", { class: "bar", style: `width:${width}%` }), el("span", { class: "num" }, String(value))));
    }
    box.append(el("h3", {}, title), bars);
  }
}

function renderSample(members) {
  const sample = document.getElementById("sample");
  clear(sample);
  for (const m of members || []) {
    const name = m.display_name || m.name || `Customer #${m.id}`;
    sample.append(el("li", {}, el("a", { href: `/customers/${m.id}` }, name)));
  }
}

let inflight = null;
async function preview() {
  if (!root.dataset.previewUrl) { status.textContent = "The live preview is not available in this version."; return; }
  let rule;
  try { rule = currentRule(); } catch (e) { showErrors({ detail: `The rule is not valid JSON: ${e.message}` }); return; }
  if (inflight) inflight.abort();
  inflight = new AbortController();
  status.textContent = "Counting…";
  root.setAttribute("aria-busy", "true");
  try {
    const body = await api(root.dataset.previewUrl, { method: "POST", body: { rule }, signal: inflight.signal });
    clear(errors);
    count.textContent = String(body.count);
    count.dataset.rule = JSON.stringify(rule);
    status.textContent = body.count === 1 ? "1 customer matches." : `${body.count} customers match.`;
    renderBreakdown(body.breakdown, body.count);
    renderSample(body.members);
  } catch (err) {
    if (err.name === "AbortError") return;
    count.textContent = "—";
    delete count.dataset.rule;
    status.textContent = "The rule cannot be counted yet.";
    showErrors(err.problem || { detail: err.message });
  } finally {
    root.removeAttribute("aria-busy");
  }
}
const schedule = debounce(preview, PREVIEW_DELAY_MS);

async function save(event) {
  event.preventDefault();
  const saveStatus = document.getElementById("save-status");
  if (!root.dataset.saveUrl) { saveStatus.textContent = "Saving segments is not available in this version."; return; }
  const payload = {
    name: form.elements.name.value.trim(),
    description: form.elements.description.value.trim() || null,
    kind: form.elements.kind.value,
    rule: currentRule(),
  };
  saveStatus.textContent = "Saving…";
  try {
    const saved = await api(root.dataset.saveUrl, { method: root.dataset.saveMethod, body: payload });
    saveStatus.textContent = "Saved.";
    window.location.assign(root.dataset.segmentUrl + saved.id);
  } catch (err) {
    const problem = err.problem || { detail: err.message };
    const fields = Object.entries(problem.errors || {}).map(([k, v]) => `${k}: ${[].concat(v).join("; ")}`);
    saveStatus.textContent = `Not saved: ${fields.length ? fields.join(" · ") : problem.detail || problem.title}`;
  }
}

load(initial);
document.getElementById("add-condition").addEventListener("click", () => { addRow().querySelector("select").focus(); schedule(); });
// Name, description and kind do not change who matches.
const affectsRule = (event) => !event.target.closest("#seg-name, #seg-description, #seg-kind");
form.addEventListener("input", (event) => affectsRule(event) && schedule());
form.addEventListener("change", (event) => affectsRule(event) && schedule());
form.addEventListener("submit", save);
preview();
