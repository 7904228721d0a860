// Batches: runs made together with their completion callbacks (POST /api/batches). The list, newest
// first, with a progress bar per batch (its runs' ends by status), counts per status and the callback
// run; cancel of a running batch for operators (read only for viewers). One batch: batch.js.

import { canOperate, get, post, query } from "../api.js";
import { badge, confirmAction, emptyRow, h, notify, pager, replace, time } from "../dom.js";

const PAGE_SIZE = 20;
const REFRESH_MS = 5000;
// a batch's ends, in the bar's order, each with its runs' status colour
export const ENDS = [
  ["succeeded", "SUCCESS"],
  ["failed", "FAILED"],
  ["timed_out", "TIMEOUT"],
  ["cancelled", "CANCELLED"],
  ["expired", "EXPIRED"],
];
const BATCH_STATUSES = ["RUNNING", "SUCCESS", "FAILED", "CANCELLED"];

export function progress(batch) {
  const label = `Batch ${batch.id}: ${batch.ended} of ${batch.total} runs ended`;
  const width = (count) => `${batch.total ? (100 * count) / batch.total : 0}%`;
  return h("div", { class: "progress", role: "progressbar", "aria-label": label, "aria-valuemin": 0,
    "aria-valuemax": batch.total, "aria-valuenow": batch.ended, "aria-valuetext": `${batch.ended} of ${batch.total}` },
  ...ENDS.filter(([field]) => batch[field]).map(([field, status]) => {
    const segment = h("span", { class: `segment status-${status.toLowerCase()}`, title: `${batch[field]} ${status}` });
    segment.style.width = width(batch[field]); // through the CSSOM: the page's CSP refuses style attributes
    return segment;
  }));
}

export function endCounts(batch) {
  const ended = ENDS.filter(([field]) => batch[field]).map(([field, status]) => `${batch[field]} ${status}`);
  const left = batch.total - batch.ended;
  return [...ended, ...(left ? [`${left} not ended`] : [])].join(", ") || "no runs";
}

export function callbackLink(batch) {
  if (batch.callback_run_id) return h("a", { href: `#/runs/${batch.callback_run_id}` }, `run #${batch.callback_run_id}`);
  const asked = [batch.on_success && "on_success", batch.on_complete && "on_complete"].filter(Boolean);
  return h("span", { class: "muted" }, asked.length ? `${asked.join(", ")}: when it ends` : "none");
}

export async function cancelBatch(batch, after) {
  const left = batch.total - batch.ended;
  const text = `Its waiting and pending runs (up to ${left}) are cancelled now and never start; running ones finish. The batch then ends CANCELLED, and its on_complete callback runs.`;
  if (!(await confirmAction(`Cancel batch ${batch.id}?`, text, "Cancel the batch", "Keep the batch"))) return;
  try {
    const done = await post(`/api/batches/${batch.id}/cancel`);
    notify(`Batch ${batch.id}: ${done.cancelled} run${done.cancelled === 1 ? "" : "s"} cancelled`);
  } catch (error) {
    notify(error.message, "error");
  }
  after();
}

export async function render(main, search) {
  const state = { page: Number(search.get("page")) || 1, status: search.get("status") || "", timer: null };
  const operator = await canOperate();
  const refresh = h("input", { type: "checkbox", id: "auto-refresh", checked: true });
  const list = h("div", { id: "batch-list" });
  const link = (status) => `#/batches${query({ status })}`;
  replace(main,
    h("div", { class: "title" }, h("h1", {}, "Batches"),
      h("div", { class: "check" }, refresh, h("label", { for: "auto-refresh" }, "Refresh every 5 s"))),
    h("p", { class: "muted" }, "Runs made together (POST /api/batches, jobu batches). When its last run ends a batch makes its callback run: on_success when every run succeeded, on_complete always."),
    h("ul", { class: "chips", "aria-label": "Batches by status" },
      h("li", {}, h("a", { href: link(""), "aria-current": state.status ? null : "true" }, "All")),
      ...BATCH_STATUSES.map((status) => h("li", {}, h("a", { href: link(status), class: `chip status-${status.toLowerCase()}`, "aria-current": state.status === status ? "true" : null }, status)))),
    list);
  const load = async () => {
    const page = await get(`/api/batches${query({ status: state.status, page: state.page, size: PAGE_SIZE })}`);
    const rows = page.items.map((batch) => h("tr", { dataset: { batchId: batch.id } },
      h("th", { scope: "row" }, h("a", { href: `#/batches/${batch.id}` }, `#${batch.id}`)),
      h("td", {}, badge(batch.status)),
      h("td", {}, h("div", { class: "progress-cell" }, progress(batch), h("span", { class: "muted" }, `${batch.ended}/${batch.total}`))),
      h("td", {}, endCounts(batch)),
      h("td", {}, callbackLink(batch)),
      h("td", {}, time(batch.created_at)),
      h("td", {}, h("code", {}, batch.created_by)),
      h("td", { class: "actions" }, operator && batch.status === "RUNNING"
        ? h("button", { type: "button", class: "danger", onclick: () => cancelBatch(batch, load), "aria-label": `Cancel batch ${batch.id}` }, "Cancel")
        : null)));
    replace(list,
      h("table", { class: "grid" },
        h("caption", { class: "visually-hidden" }, "Batches, newest first"),
        h("thead", {}, h("tr", {}, ...["Batch", "Status", "Progress", "Runs ended", "Callback", "Created", "By", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, rows.length ? rows : emptyRow(8, "No batches."))),
      pager(page, (number) => { state.page = number; load(); }));
  };
  await load();
  state.timer = setInterval(() => {
    if (refresh.checked && !document.hidden && !document.querySelector("dialog[open]")) load().catch(() => {});
  }, REFRESH_MS);
  return { leave: () => clearInterval(state.timer) };
}
