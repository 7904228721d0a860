// Audit: who changed what, newest first, and what it changed (GET /api/audit). Filters kept in the
// address. Every stored value (a principal, a name, a description, params) is shown as text, never
// as markup: h() makes text nodes.

import { get, query } from "../api.js";
import { emptyRow, h, pager, replace, time } from "../dom.js";

const PAGE_SIZE = 25;
const FILTERS = ["principal", "operation", "target_kind", "target_id", "from_date", "to_date"];
const OPERATIONS = [
  "cron_job.create", "cron_job.update", "cron_job.delete", "cron_job.enable", "cron_job.disable",
  "cron_job.pause", "cron_job.resume", "cron_job.run_now", "cron_job.backfill",
  "run.retry", "run.bulk_retry", "run.cancel", "run.delete",
  "rejected_record.replay", "rejected_record.discard", "dead_letters.redrive",
];
const KINDS = ["cron_job", "run", "runs", "rejected_record", "dead_letter_queue"];

const toInput = (iso) => (iso ? iso.replace(/Z$/, "").slice(0, 16) : "");
const fromInput = (value) => (value ? `${value}:00Z` : "");

export async function render(main, search) {
  const filters = Object.fromEntries(FILTERS.map((name) => [name, search.get(name) || ""]));
  const state = { page: Number(search.get("page")) || 1 };
  const control = (name, label, element) => {
    element.id = `audit-${name}`;
    element.name = name;
    return h("div", { class: "field" }, h("label", { for: element.id }, label), element);
  };
  const option = (value, text, selected) => h("option", { value, selected: selected === value }, text);
  const choice = (name, values) => h("select", {}, option("", "any", filters[name]),
    ...values.map((value) => option(value, value, filters[name])));
  const form = h("form", { class: "filters", id: "audit-filters", "aria-label": "Filter the audit trail" },
    control("principal", "Principal", h("input", { type: "text", value: filters.principal, placeholder: "an IAM ARN, os:user" })),
    control("operation", "Operation", choice("operation", OPERATIONS)),
    control("target_kind", "Target", choice("target_kind", KINDS)),
    control("target_id", "Target id", h("input", { type: "text", value: filters.target_id, size: 8 })),
    control("from_date", "From (UTC)", h("input", { type: "datetime-local", value: toInput(filters.from_date) })),
    control("to_date", "To (UTC)", h("input", { type: "datetime-local", value: toInput(filters.to_date) })),
    h("div", { class: "field buttons" }, h("button", { type: "submit", class: "primary" }, "Apply"),
      h("button", { type: "button", onclick: () => { window.location.hash = "#/audit"; } }, "Clear")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const chosen = Object.fromEntries(FILTERS.map((name) => [name, (data.get(name) || "").trim()]));
    chosen.from_date = fromInput(chosen.from_date);
    chosen.to_date = fromInput(chosen.to_date);
    window.location.hash = `#/audit${query(chosen)}`;
  });

  const table = h("div", { id: "audit-table" });
  replace(main, h("h1", {}, "Audit"),
    h("p", { class: "muted" }, "Every change made through the admin API, the CLI or this dashboard: who made it (the IAM principal that signed the request), what, on which target, and the fields it changed."),
    form, table);
  const where = Object.fromEntries(Object.entries(filters).filter(([, value]) => value));
  const load = async () => {
    const page = await get(`/api/audit${query({ ...where, page: state.page, size: PAGE_SIZE })}`);
    const rows = page.items.map(row);
    replace(table,
      h("table", { class: "grid" },
        h("caption", { class: "visually-hidden" }, "Operator actions, newest first"),
        h("thead", {}, h("tr", {}, ...["#", "When", "Principal", "Operation", "Target", "Changed", "Request"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, rows.length ? rows : emptyRow(7, "No operator actions match."))),
      pager(page, (number) => { state.page = number; load(); }));
  };
  await load();
  return {};
}

// before -> after for each field the action changed; the whole value when it made or removed something
function changed(before, after) {
  const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);
  const text = (value) => (value === undefined || value === null ? "—" : typeof value === "string" ? value : JSON.stringify(value));
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    if (!keys.length) return h("span", { class: "muted" }, "nothing (already so)");
    return h("ul", { class: "changes" }, ...keys.map((key) =>
      h("li", {}, h("code", {}, key), ": ", h("span", { class: "before" }, text(before[key])), " → ", h("span", { class: "after" }, text(after[key])))));
  }
  const fields = (value) => (isObject(value)
    ? h("ul", { class: "changes" }, ...Object.entries(value).map(([key, item]) => h("li", {}, h("code", {}, key), ": ", text(item))))
    : h("code", { class: "value" }, text(value)));
  if (after !== null && after !== undefined) return fields(after);
  if (before !== null && before !== undefined) return h("div", {}, h("span", { class: "muted" }, "removed: "), fields(before));
  return h("span", { class: "muted" }, "—");
}

function row(action) {
  const target = action.target_id === null ? action.target_kind : `${action.target_kind} ${action.target_id}`;
  const link = action.target_kind === "run" && action.target_id !== null ? h("a", { href: `#/runs/${action.target_id}` }, target) : target;
  return h("tr", { dataset: { actionId: action.id } },
    h("th", { scope: "row" }, `#${action.id}`),
    h("td", {}, time(action.created_at)),
    h("td", { class: "principal" }, h("code", {}, action.principal)),
    h("td", {}, action.operation),
    h("td", {}, link),
    h("td", { class: "value-cell" }, changed(action.before_state, action.after_state)),
    h("td", {}, action.request_id ? h("code", { class: "muted" }, action.request_id) : "—"));
}
