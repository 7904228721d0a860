// One batch: its progress and counts (ended by status, and its runs by status now), its callbacks and
// the callback run, and its runs (GET /api/jobs?batch_id=), paged; cancel for operators.

import { canOperate, get, query } from "../api.js";
import { STATUSES, badge, duration, emptyRow, h, json, pager, replace, time } from "../dom.js";
import { callbackLink, cancelBatch, endCounts, progress } from "./batches.js";

const PAGE_SIZE = 25;
const REFRESH_MS = 3000;

export async function render(main, batchId) {
  const state = { page: 1, timer: null };
  const operator = await canOperate();
  const load = async () => {
    const [batch, runs] = await Promise.all([
      get(`/api/batches/${batchId}`),
      get(`/api/jobs${query({ batch_id: batchId, page: state.page, size: PAGE_SIZE })}`),
    ]);
    const now = batch.counts || {};
    replace(main,
      h("p", {}, h("a", { href: "#/batches" }, "← Batches")),
      h("div", { class: "title" }, h("h1", {}, `Batch #${batch.id} `, badge(batch.status)),
        h("div", { class: "actions" }, operator && batch.status === "RUNNING"
          ? h("button", { type: "button", class: "danger", onclick: () => cancelBatch(batch, load) }, "Cancel the batch")
          : null)),
      h("section", { class: "panel", "aria-labelledby": "batch-title" },
        h("h2", { id: "batch-title" }, "Progress"),
        progress(batch),
        h("dl", { class: "facts" },
          h("dt", {}, "Runs ended"), h("dd", { id: "batch-ends" }, `${batch.ended} of ${batch.total}: ${endCounts(batch)}`),
          h("dt", {}, "Runs by status now"), h("dd", { id: "batch-counts" },
            STATUSES.filter((status) => now[status]).map((status) => `${now[status]} ${status}`).join(", ") || "—"),
          h("dt", {}, "Callback run"), h("dd", { id: "batch-callback" }, callbackLink(batch)),
          h("dt", {}, "on_success"), h("dd", {}, batch.on_success ? h("pre", { class: "json" }, json(batch.on_success)) : "—"),
          h("dt", {}, "on_complete"), h("dd", {}, batch.on_complete ? h("pre", { class: "json" }, json(batch.on_complete)) : "—"),
          h("dt", {}, "Created"), h("dd", {}, time(batch.created_at), " by ", h("code", {}, batch.created_by)),
          h("dt", {}, "Ended"), h("dd", {}, batch.finished_at ? time(batch.finished_at) : "—"))),
      h("section", { class: "panel", "aria-labelledby": "children-title" },
        h("h2", { id: "children-title" }, `Its runs (${runs.total})`),
        h("p", {}, h("a", { href: `#/runs${query({ batch_id: batch.id })}` }, "Open them on the Runs page"), h("span", { class: "muted" }, " (filters, charts, bulk retry and cancel)")),
        h("table", { class: "grid", id: "batch-runs" },
          h("caption", { class: "visually-hidden" }, "The batch's runs, newest first"),
          h("thead", {}, h("tr", {}, ...["Run", "Status", "Handler", "Retries", "Created", "Duration", "Error"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, runs.items.length ? runs.items.map((run) => h("tr", { dataset: { runId: run.id } },
            h("th", { scope: "row" }, h("a", { href: `#/runs/${run.id}` }, `#${run.id}`)),
            h("td", {}, badge(run.status)),
            h("td", {}, run.handler_name),
            h("td", {}, `${run.retry_count}/${run.max_retry}`),
            h("td", {}, time(run.created_at)),
            h("td", {}, duration(run)),
            h("td", { class: "error-cell" }, run.error_message ? h("span", { title: run.error_message }, run.error_message.slice(0, 80)) : ""))) : emptyRow(7, "No runs."))),
        pager(runs, (number) => { state.page = number; load(); })));
    clearTimeout(state.timer);
    if (batch.status === "RUNNING" || !batch.callback_run_id) {
      state.timer = setTimeout(() => { if (!document.querySelector("dialog[open]")) load().catch(() => {}); }, REFRESH_MS);
    }
  };
  await load();
  return { leave: () => clearTimeout(state.timer) };
}
