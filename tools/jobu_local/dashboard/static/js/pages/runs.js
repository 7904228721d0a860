// Runs: filters (cron job, handler, status, time range, tags, batch, params) kept in the address, counts per status, runs
// per minute and their durations, the page of runs with retry and cancel, auto-refresh, and bulk
// retry and bulk cancel of the filtered set after a confirmation that shows the count (the API's dry run).

import { canOperate, get, post, query } from "../api.js";
import { durations, legend, runsPerBucket } from "../charts.js";
import { STATUSES, badge, confirmAction, duration, emptyRow, h, notify, pager, replace, time } from "../dom.js";
import { canCancel, runActions } from "./actions.js";

const PAGE_SIZE = 25;
const REFRESH_MS = 5000;
// tag: comma-separated tags (a tag holds no comma), every one of which a run must carry; the API reads
// one comma-joined value as API Gateway hands it a repeated parameter
const FILTERS = ["cron_id", "handler_name", "status", "from_date", "to_date", "tag", "batch_id"];
// params: `param.<key>=<value>` in the address as in the API's query; the form's box holds one
// key=value a line (a value may hold commas and semicolons, never a line break)
const PARAM = "param.";

function filtersFrom(search) {
  const filters = Object.fromEntries(FILTERS.map((name) => [name, search.get(name) || ""]));
  filters.params = Object.fromEntries([...search.entries()]
    .filter(([name]) => name.startsWith(PARAM)).map(([name, value]) => [name.slice(PARAM.length), value]));
  return filters;
}

const paramLines = (params) => Object.entries(params).map(([key, value]) => `${key}=${value}`).join("\n");
function paramsFromLines(text) {
  const params = {};
  for (const line of text.split("\n")) {
    const at = line.indexOf("=");
    if (line.trim() && at > 0) params[line.slice(0, at).trim()] = line.slice(at + 1);
  }
  return params;
}
const paramQuery = (params) => Object.fromEntries(Object.entries(params).map(([key, value]) => [`${PARAM}${key}`, value]));

// <input type="datetime-local"> holds a UTC time here (the label says so); the API takes ISO 8601.
const toInput = (iso) => (iso ? iso.replace(/Z$/, "").slice(0, 16) : "");
const fromInput = (value) => (value ? `${value}:00Z` : "");

export async function render(main, search) {
  const filters = filtersFrom(search);
  const state = { page: Number(search.get("page")) || 1, timer: null };
  const [crons, handlers, cancel, operator] = await Promise.all([get("/api/crons?size=100"), get("/api/handlers"), canCancel(), canOperate()]);

  const control = (name, label, element) => {
    element.id = `filter-${name}`;
    element.name = name;
    return h("div", { class: "field" }, h("label", { for: element.id }, label), element);
  };
  const option = (value, text, selected) => h("option", { value, selected: String(selected) === String(value) }, text);
  const form = h("form", { class: "filters", id: "run-filters", "aria-label": "Filter runs" },
    control("cron_id", "Cron job", h("select", {}, option("", "any", filters.cron_id),
      ...crons.items.map((job) => option(job.id, job.name, filters.cron_id)))),
    control("handler_name", "Handler", h("select", {}, option("", "any", filters.handler_name),
      ...handlers.map((handler) => option(handler.name, handler.name, filters.handler_name)))),
    control("status", "Status", h("select", {}, option("", "any", filters.status),
      ...STATUSES.map((status) => option(status, status, filters.status)))),
    control("from_date", "From (UTC)", h("input", { type: "datetime-local", value: toInput(filters.from_date) })),
    control("to_date", "To (UTC)", h("input", { type: "datetime-local", value: toInput(filters.to_date) })),
    control("tag", "Tags", h("input", { type: "text", value: filters.tag, placeholder: "tenant-a, billing" })),
    control("batch_id", "Batch", h("input", { type: "number", min: 1, value: filters.batch_id, placeholder: "id" })),
    control("params", "Params (key=value a line)", h("textarea", { rows: 3, placeholder: "customer=acme\norder=7" }, paramLines(filters.params))),
    h("div", { class: "field buttons" }, h("button", { type: "submit", class: "primary" }, "Apply"),
      h("button", { type: "button", onclick: () => { window.location.hash = "#/runs"; } }, "Clear")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const chosen = Object.fromEntries(FILTERS.map((name) => [name, data.get(name) || ""]));
    chosen.from_date = fromInput(chosen.from_date);
    chosen.to_date = fromInput(chosen.to_date);
    chosen.tag = chosen.tag.split(",").map((tag) => tag.trim()).filter(Boolean).join(",");
    window.location.hash = `#/runs${query({ ...chosen, ...paramQuery(paramsFromLines(String(data.get("params") || ""))) })}`;
  });

  const refresh = h("input", { type: "checkbox", id: "auto-refresh", checked: true });
  const counts = h("div", { class: "counts", id: "status-counts", "aria-live": "polite" });
  const charts = h("div", { class: "charts" });
  const table = h("div", { id: "run-table" });
  const bulk = h("button", { type: "button", id: "bulk-retry" }, "Retry failed runs matching these filters");
  const bulkStop = h("button", { type: "button", id: "bulk-cancel" }, "Cancel unfinished runs matching these filters");
  replace(main,
    h("div", { class: "title" }, h("h1", {}, "Runs"),
      h("div", { class: "check" }, refresh, h("label", { for: "auto-refresh" }, "Refresh every 5 s"))),
    form, counts, charts, operator ? h("div", { class: "toolbar" }, bulk, cancel ? bulkStop : null) : null, table);

  const where = Object.fromEntries(Object.entries({ ...filters, params: "", ...paramQuery(filters.params) })
    .filter(([, value]) => value !== ""));
  const load = async () => {
    const [page, found, timeline] = await Promise.all([
      get(`/api/jobs${query({ ...where, page: state.page, size: PAGE_SIZE })}`),
      get(`/api/stats/status-counts${query({ ...where, status: "" })}`),
      get(`/api/stats/timeline${query({ cron_id: where.cron_id, handler_name: where.handler_name, status: where.status, from_date: where.from_date, to_date: where.to_date, tag: where.tag, batch_id: where.batch_id, ...paramQuery(filters.params) })}`),
    ]);
    renderCounts(counts, found, where);
    renderCharts(charts, timeline);
    renderTable(table, page, { cancel, operator }, load, (number) => { state.page = number; load(); });
  };
  bulk.addEventListener("click", () => bulkRetry(filters, load));
  bulkStop.addEventListener("click", () => bulkCancel(filters, load));
  await load();
  state.timer = setInterval(() => {
    if (refresh.checked && !document.hidden && !document.querySelector("dialog[open]")) load().catch(() => {});
  }, REFRESH_MS);
  return { leave: () => clearInterval(state.timer) };
}

function renderCounts(element, found, where) {
  const link = (status) => `#/runs${query({ ...where, status, page: "" })}`;
  replace(element, h("ul", { class: "chips", "aria-label": "Runs per status" },
    h("li", {}, h("a", { href: link(""), "aria-current": where.status ? null : "true" }, `All ${found.total}`)),
    ...STATUSES.filter((status) => found.counts[status]).map((status) =>
      h("li", {}, h("a", { href: link(status), class: `chip status-${status.toLowerCase()}`, "aria-current": where.status === status ? "true" : null },
        `${status} ${found.counts[status]}`)))));
}

function renderCharts(element, timeline) {
  const per = timeline.bucket_seconds === 60 ? "minute" : `${timeline.bucket_seconds / 60} min`;
  replace(element,
    h("figure", {}, h("figcaption", {}, `Runs per ${per}`), runsPerBucket(timeline),
      legend(STATUSES.map((status) => [`fill-${status.toLowerCase()}`, status]))),
    h("figure", {}, h("figcaption", {}, "Run duration"), durations(timeline),
      legend([["line-average", "average"], ["line-longest", "longest"]])));
}

function renderTable(element, page, { cancel, operator }, reload, onPage) {
  const rows = page.items.map((run) => h("tr", { dataset: { runId: run.id } },
    h("th", { scope: "row" }, h("a", { href: `#/runs/${run.id}` }, `#${run.id}`)),
    h("td", {}, badge(run.status)),
    h("td", {}, run.cron_name || h("span", { class: "muted" }, run.job_id ? `job ${run.job_id}` : "—")),
    h("td", {}, run.handler_name),
    h("td", {}, run.param_source),
    h("td", {}, `${run.retry_count}/${run.max_retry}`),
    h("td", {}, time(run.created_at)),
    h("td", {}, duration(run)),
    h("td", { class: "error-cell" }, run.error_message ? h("span", { title: run.error_message }, run.error_message.slice(0, 80)) : ""),
    h("td", { class: "actions" }, ...runActions(run, { cancel, operator, after: reload }))));
  replace(element,
    h("table", { class: "grid" },
      h("caption", { class: "visually-hidden" }, "Runs, newest first"),
      h("thead", {}, h("tr", {}, ...["Run", "Status", "Cron job", "Handler", "Source", "Retries", "Created", "Duration", "Error", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows.length ? rows : emptyRow(10, "No runs match these filters."))),
    pager(page, onPage));
}

// The bulk actions' body: the list's filters as the request's fields.
function bulkFilter(filters) {
  const filter = Object.fromEntries(Object.entries(filters).filter(([, value]) => value !== ""));
  if (filter.cron_id) filter.cron_id = Number(filter.cron_id);
  if (filter.batch_id) filter.batch_id = Number(filter.batch_id);
  if (filter.tag) filter.tags = filter.tag.split(",");
  delete filter.tag;
  if (!Object.keys(filter.params).length) delete filter.params;
  return filter;
}

async function bulkRetry(filters, reload) {
  const filter = bulkFilter(filters);
  let dry;
  try {
    dry = await post("/api/jobs/bulk-retry", { ...filter, dry_run: true, limit: 1000 });
  } catch (error) {
    notify(error.message, "error");
    return;
  }
  if (!dry.matched) {
    notify("No FAILED or TIMEOUT runs match these filters.");
    return;
  }
  const taking = dry.ids.length < dry.matched ? ` (the newest ${dry.ids.length} of them in this go)` : "";
  const text = `${dry.matched} FAILED or TIMEOUT run${dry.matched === 1 ? "" : "s"} match${dry.matched === 1 ? "es" : ""} these filters${taking}. Each gets one more attempt, queued now.`;
  if (!(await confirmAction(`Retry ${dry.ids.length} run${dry.ids.length === 1 ? "" : "s"}?`, text, "Retry them"))) return;
  try {
    const done = await post("/api/jobs/bulk-retry", { ...filter, dry_run: false, limit: 1000 });
    notify(`${done.ids.length} run${done.ids.length === 1 ? "" : "s"} retried, ${done.queued.length} queued`);
  } catch (error) {
    notify(error.message, "error");
  }
  reload();
}

async function bulkCancel(filters, reload) {
  const filter = bulkFilter(filters);
  let dry;
  try {
    dry = await post("/api/jobs/bulk-cancel", { ...filter, dry_run: true, limit: 1000 });
  } catch (error) {
    notify(error.message, "error");
    return;
  }
  if (!dry.matched) {
    notify("No WAITING, PENDING or RUNNING runs match these filters.");
    return;
  }
  const taking = dry.ids.length < dry.matched ? ` (the newest ${dry.ids.length} of them in this go)` : "";
  const text = `${dry.matched} WAITING, PENDING or RUNNING run${dry.matched === 1 ? "" : "s"} match${dry.matched === 1 ? "es" : ""} these filters${taking}. Those not started never start; running ones are stopped within seconds.`;
  const runs = `${dry.ids.length} run${dry.ids.length === 1 ? "" : "s"}`;
  if (!(await confirmAction(`Cancel ${runs}?`, text, `Cancel ${runs}`, dry.ids.length === 1 ? "Keep it" : "Keep them"))) return;
  try {
    const done = await post("/api/jobs/bulk-cancel", { ...filter, dry_run: false, limit: 1000 });
    notify(`${done.cancelled.length} run${done.cancelled.length === 1 ? "" : "s"} cancelled, ${done.requested.length} running asked to stop`);
  } catch (error) {
    notify(error.message, "error");
  }
  reload();
}
