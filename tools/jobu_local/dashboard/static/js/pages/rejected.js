// Rejected records: Kafka records the queue dispatcher refused, their raw value shown as stored
// (text, base64 bytes, or a tombstone), the reason, and replay or discard.

import { canOperate, del, get, post, query } from "../api.js";
import { confirmAction, emptyRow, h, notify, pager, replace, time } from "../dom.js";

const PAGE_SIZE = 20;

export async function render(main, search) {
  const state = { page: Number(search.get("page")) || 1 };
  const operator = await canOperate();
  const list = h("div", { id: "rejected-list" });
  replace(main, h("h1", {}, "Rejected records"),
    h("p", { class: "muted" }, "Kafka records the queue dispatcher could not turn into runs. Replay one once its cause is fixed (a handler deployed, a cron job created); discard the rest."),
    list);
  const load = async () => {
    const page = await get(`/api/rejected${query({ page: state.page, size: PAGE_SIZE })}`);
    const rows = page.items.map((record) => row(record, load, operator));
    replace(list,
      h("table", { class: "grid" },
        h("caption", { class: "visually-hidden" }, "Rejected records, newest first"),
        h("thead", {}, h("tr", {}, ...["Record", "Received", "Where", "Reason", "Value", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, rows.length ? rows : emptyRow(6, "No rejected records."))),
      pager(page, (number) => { state.page = number; load(); }));
  };
  await load();
  return {};
}

// The value as raw_encoding says it is stored: text as is, base64 bytes decoded where they are text.
export function value(encoding, raw, truncated = false) {
  if (encoding === "none") return h("span", { class: "muted" }, "no value (a tombstone)");
  if (encoding === "base64") {
    let shown = raw;
    try {
      shown = new TextDecoder("utf-8", { fatal: false }).decode(Uint8Array.from(atob(raw), (c) => c.charCodeAt(0)));
    } catch { /* cut mid-way: show the base64 itself */ }
    return h("span", {}, h("span", { class: "tag" }, "bytes (base64)"), " ", h("code", { class: "value", title: raw }, shown));
  }
  return h("code", { class: "value" }, raw + (truncated ? " …" : ""));
}

function row(record, reload, operator) {
  const where = record.source_topic !== null ? `${record.source_topic}:${record.source_partition}:${record.source_offset}` : "no coordinates";
  const valueCell = h("td", { class: "value-cell" }, value(record.raw_encoding, record.raw_preview, record.raw_truncated));
  const showAll = async () => {
    const full = await get(`/api/rejected/${record.id}`);
    replace(valueCell, h("pre", { class: "json", tabindex: 0 }, record.raw_encoding === "base64" ? full.raw_value : full.raw_value || ""));
  };
  const replay = async () => {
    try {
      const result = await post(`/api/rejected/${record.id}/replay`);
      if (result.outcome === "dispatched") notify(`Record ${record.id} replayed: it is run ${result.run.id} now`);
      else notify(`Record ${record.id} refused again: ${result.reason}`, "error");
      reload();
    } catch (error) {
      notify(error.message, "error");
    }
  };
  const discard = async () => {
    if (!(await confirmAction(`Discard record ${record.id}?`, "Its raw value is deleted for good.", "Discard"))) return;
    try {
      await del(`/api/rejected/${record.id}`);
      notify(`Record ${record.id} discarded`);
      reload();
    } catch (error) {
      notify(error.message, "error");
    }
  };
  return h("tr", { dataset: { recordId: record.id } },
    h("th", { scope: "row" }, `#${record.id}`),
    h("td", {}, time(record.created_at)),
    h("td", {}, h("code", {}, where)),
    h("td", {}, record.reason),
    valueCell,
    h("td", { class: "actions" },
      record.raw_truncated ? h("button", { type: "button", onclick: showAll, "aria-label": `Show the whole value of record ${record.id}` }, "Show all") : null,
      operator ? h("button", { type: "button", onclick: replay, "aria-label": `Replay record ${record.id}` }, "Replay") : null,
      operator ? h("button", { type: "button", class: "danger", onclick: discard, "aria-label": `Discard record ${record.id}` }, "Discard") : null));
}
