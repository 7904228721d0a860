// Small helpers for building the pages: elements, formatting, status badges, notices, confirmations.

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

export const STATUSES = ["WAITING", "PENDING", "RUNNING", "SUCCESS", "FAILED", "TIMEOUT", "CANCELLED", "EXPIRED"];

export function badge(status) {
  return h("span", { class: `badge status-${status.toLowerCase()}` }, status);
}

function parse(moment) {
  return moment instanceof Date ? moment : new Date(moment);
}

export function utc(moment) {
  if (!moment) return "";
  return parse(moment).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

export function relative(moment, now = Date.now()) {
  if (!moment) return "";
  const seconds = Math.round((parse(moment).getTime() - now) / 1000);
  const size = Math.abs(seconds);
  const [value, unit] =
    size < 60 ? [size, "s"] : size < 3600 ? [Math.round(size / 60), "min"]
      : size < 172800 ? [Math.round(size / 3600), "h"] : [Math.round(size / 86400), "d"];
  return seconds >= 0 ? `in ${value} ${unit}` : `${value} ${unit} ago`;
}

export function time(moment) {
  if (!moment) return h("span", { class: "muted" }, "—");
  return h("time", { datetime: parse(moment).toISOString(), title: relative(moment) }, utc(moment));
}

export function seconds(value) {
  if (value === null || value === undefined) return "—";
  if (value < 1) return `${Math.round(value * 1000)} ms`;
  if (value < 60) return `${value.toFixed(value < 10 ? 2 : 1)} s`;
  return `${Math.floor(value / 60)} min ${Math.round(value % 60)} s`;
}

export function duration(run) {
  if (!run.started_at || !run.finished_at) return "—";
  return seconds((parse(run.finished_at) - parse(run.started_at)) / 1000);
}

export function json(value) {
  return JSON.stringify(value, null, 2);
}

let noticeTimer;
let noticeShownAt = 0;
export function notify(message, kind = "info") {
  noticeShownAt = Date.now();
  const notice = document.getElementById("notice");
  notice.className = `notice ${kind}`;
  notice.textContent = message;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(clearNotice, 8000);
}

function clearNotice() {
  const notice = document.getElementById("notice");
  notice.textContent = "";
  notice.className = "notice";
}

// On leaving a page: its notices go, unless one was just given by the action that led away.
export function clearStaleNotice() {
  if (Date.now() - noticeShownAt > 1000) clearNotice();
}

// A modal confirmation (the native <dialog>: focus stays inside, Escape dismisses); resolves true or
// false. `dismiss` names the way out: where the action itself is a cancel, "Cancel" beside it would
// read as either button.
export function confirmAction(title, text, action = "Confirm", dismiss = "Cancel") {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-ok").textContent = action;
  document.getElementById("confirm-dismiss").textContent = dismiss;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

export function emptyRow(columns, text) {
  return h("tr", {}, h("td", { colspan: columns, class: "empty" }, text));
}

export function pager(page, onPage) {
  if (page.pages <= 1) return h("p", { class: "muted" }, `${page.total} in all`);
  return h("nav", { class: "pager", "aria-label": "Pages of results" },
    h("button", { type: "button", disabled: page.page <= 1, onclick: () => onPage(page.page - 1) }, "Previous"),
    h("span", {}, `Page ${page.page} of ${page.pages} (${page.total} in all)`),
    h("button", { type: "button", disabled: page.page >= page.pages, onclick: () => onPage(page.page + 1) }, "Next"),
  );
}
