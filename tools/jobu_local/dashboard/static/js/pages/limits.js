// Limits: each handler's concurrency and rate limits (the code's, or an operator's override), and
// what they hold now: runs running, pending (handed over, not started) and waiting for the limits,
// the rate's burst used and the next start it allows, and the same per busy concurrency key. Operators edit a handler's limits (PUT
// /api/limits/{handler}) or clear the override (DELETE: back to the code's); a viewer only reads.
// A change applies to the next run that starts, without a deploy.

import { canOperate, del, get, put } from "../api.js";
import { confirmAction, emptyRow, h, notify, replace, time } from "../dom.js";

export async function render(main) {
  const operator = await canOperate();
  const list = h("div", { id: "limits-list" });
  const formArea = h("div", { id: "limits-form-area" });
  const reload = async () => {
    const handlers = await get("/api/limits");
    replace(list,
      h("table", { class: "grid", id: "limits-table" },
        h("caption", { class: "visually-hidden" }, "Limits per handler"),
        h("thead", {}, h("tr", {}, ...["Handler", "Concurrency", "Per key", "Rate", "Source", "Running", "Pending", "Waiting", "Rate used", "Busy keys", "Actions"]
          .map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, handlers.length
          ? handlers.map((status) => row(status, operator, formArea, reload))
          : emptyRow(11, "No handler has limits, and no run waits for any."))));
  };
  replace(main, h("h1", {}, "Limits"),
    h("p", { class: "muted" }, "How many runs of a handler may be pending or running at once (in all, and per concurrency key) and how often they may start. A run that may not start yet waits, unsent; it is handed over when a slot frees up. A change applies to the next run that starts."),
    operator ? newLimits(formArea, reload) : null,
    formArea, list);
  await reload();
  return {};
}

// A handler not listed yet (no limits, no run waiting): name it, then fill the form.
function newLimits(formArea, reload) {
  const handler = h("input", { type: "text", id: "limits-handler", name: "handler", placeholder: "sleep", required: true });
  const form = h("form", { class: "toolbar", id: "limits-new" },
    h("label", { for: "limits-handler" }, "Handler"), handler,
    h("button", { type: "submit", class: "primary" }, "Set limits"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = handler.value.trim();
    if (name) openForm(formArea, { handler_name: name, limits: {} }, reload);
  });
  return form;
}

function limitText(value) {
  return value === null || value === undefined ? "none" : String(value);
}

function rateText(rate) {
  if (!rate) return "none";
  return `${rate.limit} per ${rate.period_seconds} s, burst ${rate.burst}`;
}

function rateUsed(status) {
  const rate = status.limits && status.limits.rate;
  if (!rate) return h("span", { class: "muted" }, "—");
  const next = status.next_start_at ? h("span", {}, "; next start ", time(status.next_start_at)) : null;
  return h("span", {}, `${status.rate_used ?? 0} of ${rate.burst} burst`, next);
}

function keysCell(keys) {
  if (!keys || !keys.length) return h("span", { class: "muted" }, "—");
  return h("ul", { class: "keys" }, ...keys.map((key) =>
    h("li", { dataset: { key: key.concurrency_key ?? "" } },
      key.concurrency_key === null ? h("span", { class: "muted" }, "(no key)") : h("code", {}, key.concurrency_key),
      ` ${key.running} running, ${key.pending} pending, ${key.waiting} waiting`)));
}

function row(status, operator, formArea, reload) {
  const limits = status.limits || {};
  const name = status.handler_name;
  const clear = async () => {
    if (!(await confirmAction(`Clear the limits of ${name}?`, "Its runs go back to the limits its code sets.", "Clear"))) return;
    try {
      await del(`/api/limits/${encodeURIComponent(name)}`);
      notify(`Limits of ${name} cleared`);
      reload();
    } catch (error) {
      notify(error.message, "error");
    }
  };
  return h("tr", { dataset: { handler: name } },
    h("th", { scope: "row" }, name),
    h("td", {}, limitText(limits.concurrency)),
    h("td", {}, limitText(limits.per_key_concurrency)),
    h("td", {}, rateText(limits.rate)),
    h("td", {}, status.source === "override"
      ? h("span", {}, "override", status.updated_by ? h("span", { class: "muted" }, ` by ${status.updated_by}`) : null)
      : status.source),
    h("td", { class: "running" }, String(status.running ?? 0)),
    h("td", { class: "pending" }, String(status.pending ?? 0)),
    h("td", { class: "waiting" }, String(status.waiting ?? 0)),
    h("td", {}, rateUsed(status)),
    h("td", {}, keysCell(status.keys)),
    h("td", { class: "actions" },
      operator ? h("button", { type: "button", onclick: () => openForm(formArea, status, reload), "aria-label": `Edit the limits of ${name}` }, "Edit") : null,
      operator && status.source === "override" ? h("button", { type: "button", class: "danger", onclick: clear, "aria-label": `Clear the limits of ${name}` }, "Clear") : null));
}

function field(name, label, control, help) {
  control.id = `limits-${name}`;
  control.name = name;
  const helpId = `limits-${name}-help`;
  if (help) control.setAttribute("aria-describedby", helpId);
  return h("div", { class: `field field-${name}` }, h("label", { for: control.id }, label), control,
    help ? h("p", { class: "help", id: helpId }, help) : null);
}

function number(value) {
  return h("input", { type: "number", min: 1, step: 1, value: value ?? "" });
}

// empty: no limit; else the integer typed (the API refuses a bad one and names the field)
function read(input) {
  const text = input.value.trim();
  return text === "" ? null : Number(text);
}

function openForm(area, status, reload) {
  const limits = status.limits || {};
  const rate = limits.rate || {};
  const concurrency = number(limits.concurrency);
  const perKey = number(limits.per_key_concurrency);
  const rateLimit = number(rate.limit);
  const period = number(rate.period_seconds);
  const burst = number(rate.burst);
  const problem = h("p", { class: "field-error", id: "limits-form-error", role: "alert", hidden: true });
  const name = status.handler_name;
  const form = h("form", { class: "panel", id: "limits-form", "aria-labelledby": "limits-form-title", novalidate: true },
    h("h2", { id: "limits-form-title" }, `Limits of ${name}`),
    h("div", { class: "form-grid" },
      field("concurrency", "Concurrency", concurrency, "runs at once, in all; empty: no limit"),
      field("per_key_concurrency", "Per key", perKey, "runs at once per concurrency key; empty: no limit"),
      field("rate_limit", "Rate: starts", rateLimit, "starts per period; empty: no rate limit"),
      field("rate_period_seconds", "Rate: period (s)", period, "the period the starts are counted over"),
      field("rate_burst", "Rate: burst", burst, "starts at once, at most; empty: 1 (evenly spaced)")),
    problem,
    h("div", { class: "actions" },
      h("button", { type: "button", onclick: () => replace(area) }, "Cancel"),
      h("button", { type: "submit", class: "primary" }, "Save")));
  replace(area, form);
  concurrency.focus();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.hidden = true;
    const body = { concurrency: read(concurrency), per_key_concurrency: read(perKey), rate: null };
    if (read(rateLimit) !== null || read(period) !== null || read(burst) !== null) {
      body.rate = { limit: read(rateLimit), period_seconds: read(period) };
      if (read(burst) !== null) body.rate.burst = read(burst);
    }
    try {
      await put(`/api/limits/${encodeURIComponent(name)}`, body);
      notify(`Limits of ${name} saved`);
      replace(area);
      reload();
    } catch (error) {
      problem.hidden = false;
      problem.textContent = error.field ? `${error.field}: ${error.message}` : error.message;
    }
  });
}
