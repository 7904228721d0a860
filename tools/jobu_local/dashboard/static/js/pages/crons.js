// Cron jobs: the list with next fire times (and the zone each expression is read in) and a strip of
// recent runs; create and edit in a form whose messages are the API's, next to their field, with the
// next five fire times as the expression and zone are typed; enable/disable, pause/resume, run now,
// delete.

import { ApiError, canOperate, del, get, parameters, post, put, query, schema } from "../api.js";
import { strip } from "../charts.js";
import { confirmAction, emptyRow, h, notify, pager, relative, replace, time } from "../dom.js";

const PAGE_SIZE = 20;
// Fields the form lays out itself; any other field of the API's CronJobSpec gets a generic input.
// allow_overlap is the original's boolean: overlap_policy says the same and more, so only it is shown.
const KNOWN = ["name", "cron_expression", "handler_name", "handler_params", "description", "max_retry",
  "timeout_seconds", "is_enabled", "timezone", "catchup_policy", "catchup_limit", "catchup_window_seconds",
  "overlap_policy", "allow_overlap"];
const CATCHUP = [["coalesce", "one run (coalesce)"], ["skip", "none (skip)"], ["all", "one run each (all)"]];
const OVERLAP = [["allow", "run it too (allow)"], ["skip", "skip the slot (skip)"], ["queue_one", "wait for it (queue one)"]];
// the browser's list of IANA zones, offered as the zone is typed (any IANA name the API knows is fine)
const ZONES = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];

export async function render(main, search) {
  const state = { page: Number(search.get("page")) || 1, operator: await canOperate() };
  const list = h("div", { id: "cron-list" });
  const formArea = h("div", { id: "cron-form-area" });
  replace(main,
    h("div", { class: "title" },
      h("h1", {}, "Cron jobs"),
      state.operator ? h("button", { type: "button", class: "primary", id: "new-cron", onclick: () => openForm(formArea, null, reload) }, "New cron job") : null),
    formArea,
    list);
  async function reload() { await renderList(list, state, formArea, reload); }
  await reload();
  return {};
}

async function renderList(list, state, formArea, reload) {
  const page = await get(`/api/crons${query({ page: state.page, size: PAGE_SIZE })}`);
  const ids = page.items.map((job) => job.id);
  const strips = ids.length ? await get(`/api/stats/recent-runs${query({ cron_ids: ids.join(","), per_job: 20 })}`) : [];
  const recent = Object.fromEntries(strips.map((entry) => [entry.cron_id, entry.runs]));
  const rows = page.items.map((job) => row(job, recent[job.id] || [], formArea, reload, state.operator));
  replace(list,
    h("table", { class: "grid" },
      h("caption", { class: "visually-hidden" }, "Cron jobs"),
      h("thead", {}, h("tr", {},
        ...["Name", "Schedule", "Next run", "Handler", "Recent runs", "Enabled", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows.length ? rows : emptyRow(7, "No cron jobs yet: create one with “New cron job”."))),
    pager(page, (number) => { state.page = number; reload(); }));
}

function row(job, runs, formArea, reload, operator) {
  const toggle = async () => {
    const changed = await act(() => post(`/api/crons/${job.id}/toggle`));
    if (changed) { notify(`${job.name} ${changed.is_enabled ? "enabled" : "disabled"}`); reload(); }
  };
  const runNow = async () => {
    const started = await act(() => post(`/api/crons/${job.id}/run`));
    if (started) { notify(`Run ${started.run.id} of ${job.name} queued`); reload(); }
  };
  const pauseOrResume = async () => {
    const paused = Boolean(job.paused_at);
    const changed = await act(() => post(`/api/crons/${job.id}/${paused ? "resume" : "pause"}`));
    if (changed) { notify(`${job.name} ${paused ? `resumed (missed slots: ${job.catchup_policy})` : "paused"}`); reload(); }
  };
  const remove = async () => {
    if (!(await confirmAction(`Delete ${job.name}?`, "Its runs stay in the history, without their cron job.", "Delete"))) return;
    if ((await act(() => del(`/api/crons/${job.id}`))) !== undefined) { notify(`${job.name} deleted`); reload(); }
  };
  return h("tr", { dataset: { cronId: job.id } },
    h("th", { scope: "row" }, h("a", { href: `#/runs?cron_id=${job.id}` }, job.name),
      job.description ? h("div", { class: "muted small" }, job.description) : null),
    h("td", {}, h("code", {}, job.cron_expression), h("div", { class: "muted small" }, job.timezone)),
    h("td", {}, job.next_run_at ? [time(job.next_run_at), h("div", { class: "muted small" }, relative(job.next_run_at))] : h("span", { class: "muted" }, "not scheduled")),
    h("td", {}, job.handler_name),
    h("td", {}, h("a", { href: `#/runs?cron_id=${job.id}`, class: "strip-link", "aria-label": `Runs of ${job.name}` }, strip(runs))),
    h("td", {}, operator ? switchOf(job, toggle) : stateOf(job),
      job.paused_at ? h("div", { class: "muted small" }, job.paused_until ? ["paused until ", time(job.paused_until)] : "paused") : null),
    h("td", { class: "actions" }, operator ? [
      h("button", { type: "button", onclick: runNow, "aria-label": `Run ${job.name} now` }, "Run now"),
      h("button", { type: "button", onclick: pauseOrResume, "aria-label": `${job.paused_at ? "Resume" : "Pause"} ${job.name}` }, job.paused_at ? "Resume" : "Pause"),
      h("button", { type: "button", onclick: () => openForm(formArea, job, reload), "aria-label": `Edit ${job.name}` }, "Edit"),
      h("button", { type: "button", class: "danger", onclick: remove, "aria-label": `Delete ${job.name}` }, "Delete")] : null));
}

// What the switch says, for a viewer: text, not a control.
function stateOf(job) {
  const paused = job.is_enabled && Boolean(job.paused_at);
  return h("span", { class: "state" }, paused ? "Paused" : job.is_enabled ? "On" : "Off");
}

// Enabled, disabled, or enabled but paused: a paused job runs no more than a disabled one, so its
// switch does not show a green "On".
function switchOf(job, toggle) {
  const paused = job.is_enabled && Boolean(job.paused_at);
  return h("button", { type: "button", class: paused ? "switch paused" : "switch", role: "switch",
    "aria-checked": String(job.is_enabled), "aria-label": `${job.name} enabled${paused ? " (paused)" : ""}`, onclick: toggle },
  paused ? "Paused" : job.is_enabled ? "On" : "Off");
}

async function act(operation) {
  try {
    return await operation();
  } catch (error) {
    notify(error.message, "error");
    return undefined;
  }
}

function field(name, label, control, help) {
  const problem = h("p", { class: "field-error", id: `${name}-error`, hidden: true });
  control.id = `field-${name}`;
  control.name = name;
  control.setAttribute("aria-describedby", `${name}-error${help ? ` ${name}-help` : ""}`);
  const wrapper = h("div", { class: `field field-${name}` },
    h("label", { for: control.id }, label), control,
    help ? h("p", { class: "help", id: `${name}-help` }, help) : null, problem);
  return { wrapper, control, problem };
}

function checkbox(name, label, checked) {
  const control = h("input", { type: "checkbox", id: `field-${name}`, name, checked });
  const problem = h("p", { class: "field-error", id: `${name}-error`, hidden: true });
  control.setAttribute("aria-describedby", `${name}-error`);
  return { wrapper: h("div", { class: "field check" }, control, h("label", { for: control.id }, label), problem), control, problem };
}

function choice(options, selected) {
  return h("select", {}, ...options.map(([option, label]) => h("option", { value: option, selected: option === selected }, label)));
}

function genericControl(property, value) {
  const options = property.enum || ((property.anyOf || []).find((option) => option.enum) || {}).enum;
  if (options) return h("select", {}, ...options.map((option) => h("option", { value: option, selected: option === value }, option)));
  const type = property.type || ((property.anyOf || []).find((option) => option.type !== "null") || {}).type;
  if (type === "boolean") return h("input", { type: "checkbox", checked: Boolean(value) });
  return h("input", { type: type === "integer" || type === "number" ? "number" : "text", value: value ?? property.default ?? "" });
}

async function openForm(area, listed, reload) {
  // the job as it is now, not as the list last drew it: the form sends only what changed from it
  const [handlers, spec, previewParameters, job] = await Promise.all([
    get("/api/handlers"), schema("CronJobSpec"), parameters("/api/cron-preview"),
    listed ? get(`/api/crons/${listed.id}`) : null]);
  const editing = Boolean(job);
  const value = (name, fallback) => (job && job[name] !== undefined ? job[name] : fallback);
  const fields = {
    name: field("name", "Name", h("input", { type: "text", required: true, maxlength: 100, value: value("name", ""), autocomplete: "off" })),
    cron_expression: field("cron_expression", "Cron expression",
      h("input", { type: "text", required: true, value: value("cron_expression", ""), placeholder: "*/5 * * * *", autocomplete: "off", spellcheck: "false" }),
      "minute hour day-of-month month day-of-week"),
    handler_name: field("handler_name", "Handler",
      h("select", { required: true }, ...handlers.map((handler) => h("option", { value: handler.name, selected: handler.name === value("handler_name", "sample") }, handler.name)))),
    handler_params: field("handler_params", "Params (JSON object)",
      h("textarea", { rows: 4, spellcheck: "false" }, JSON.stringify(value("handler_params", {}), null, 2))),
    description: field("description", "Description", h("input", { type: "text", maxlength: 500, value: value("description", "") })),
    max_retry: field("max_retry", "Retries", h("input", { type: "number", min: 0, max: 10, value: value("max_retry", 0) })),
    timeout_seconds: field("timeout_seconds", "Timeout (seconds)", h("input", { type: "number", min: 1, max: 900, value: value("timeout_seconds", 300) })),
    is_enabled: checkbox("is_enabled", "Enabled", value("is_enabled", true)),
    timezone: field("timezone", "Time zone",
      h("input", { type: "text", required: true, value: value("timezone", "UTC"), list: "time-zones", autocomplete: "off", spellcheck: "false" }),
      "the IANA zone the expression is read in: Europe/Paris, America/New_York, UTC"),
    overlap_policy: field("overlap_policy", "While a run is active", choice(OVERLAP, value("overlap_policy", "allow")),
      "a slot that comes while the last run is still going: queue one keeps at most one waiting"),
    catchup_policy: field("catchup_policy", "Missed slots", choice(CATCHUP, value("catchup_policy", "coalesce")),
      "slots passed while jobu was down or the job paused"),
    catchup_limit: field("catchup_limit", "Catch-up limit", h("input", { type: "number", min: 1, value: value("catchup_limit", 10) }),
      "with “all”: the most missed slots run"),
    catchup_window_seconds: field("catchup_window_seconds", "Catch-up window (seconds)",
      h("input", { type: "number", min: 0, value: value("catchup_window_seconds", null) ?? "", placeholder: "no limit" }),
      "missed slots older than this are dropped; empty: no limit"),
  };
  for (const [name, property] of Object.entries(spec.properties || {})) {
    if (KNOWN.includes(name)) continue;
    const label = property.title || name;
    fields[name] = field(name, label, genericControl(property, value(name, undefined)), property.description);
  }
  const preview = h("div", { class: "preview", id: "cron-preview", "aria-live": "polite" });
  const formError = h("p", { class: "field-error", id: "form-error", role: "alert", hidden: true });
  const form = h("form", { class: "panel", id: "cron-form", "aria-labelledby": "cron-form-title", novalidate: true },
    h("h2", { id: "cron-form-title" }, editing ? `Edit ${job.name}` : "New cron job"),
    h("div", { class: "form-grid" }, ...Object.values(fields).map((entry) => entry.wrapper)),
    h("datalist", { id: "time-zones" }, ...ZONES.map((zone) => h("option", { value: zone }))),
    h("h3", {}, "Next five fire times"), preview, formError,
    h("div", { class: "actions" },
      h("button", { type: "button", onclick: () => replace(area) }, "Cancel"),
      h("button", { type: "submit", class: "primary" }, editing ? "Save" : "Create")));
  replace(area, form);

  let previewTimer;
  const expression = fields.cron_expression.control;
  const refreshPreview = () => {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(() => showPreview(preview, fields, previewParameters), 250);
  };
  expression.addEventListener("input", refreshPreview);
  for (const [name, entry] of Object.entries(fields)) {
    if (previewParameters.includes(name) && name !== "cron_expression") entry.control.addEventListener("change", refreshPreview);
  }
  showPreview(preview, fields, previewParameters);
  fields.name.control.focus();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearProblems(fields, formError);
    const body = collect(fields, spec, editing ? job : null);
    if (body === null) return;
    try {
      const saved = editing ? await put(`/api/crons/${job.id}`, body) : await post("/api/crons", body);
      replace(area);
      notify(`${saved.name} ${editing ? "saved" : "created"}: next run ${saved.next_run_at ? relative(saved.next_run_at) : "not scheduled"}`);
      reload();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showProblems(fields, formError, error.fieldProblems());
    }
  });
}

function clearProblems(fields, formError) {
  for (const entry of Object.values(fields)) {
    entry.problem.hidden = true;
    entry.problem.textContent = "";
    entry.control.removeAttribute("aria-invalid");
  }
  formError.hidden = true;
}

function showProblems(fields, formError, problems) {
  let first = null;
  for (const [name, message] of Object.entries(problems)) {
    const entry = fields[name];
    if (!entry) {
      formError.textContent = name ? `${name}: ${message}` : message;
      formError.hidden = false;
      continue;
    }
    entry.problem.textContent = message;
    entry.problem.hidden = false;
    entry.control.setAttribute("aria-invalid", "true");
    first = first || entry.control;
  }
  if (first) first.focus();
}

function read(entry) {
  const control = entry.control;
  if (control.type === "checkbox") return control.checked;
  if (control.type === "number") return control.value === "" ? null : Number(control.value);
  return control.value;
}

// The body to send: every field for a new job, only the changed ones for an edit (a partial update).
function collect(fields, spec, job) {
  const body = {};
  for (const [name, entry] of Object.entries(fields)) {
    let value = read(entry);
    if (name === "handler_params") {
      try {
        value = JSON.parse(value || "{}");
      } catch (error) {
        entry.problem.textContent = `not JSON: ${error.message}`;
        entry.problem.hidden = false;
        entry.control.setAttribute("aria-invalid", "true");
        entry.control.focus();
        return null;
      }
    }
    if (!KNOWN.includes(name) && value === "" && !(spec.required || []).includes(name)) continue;
    // a partial update leaves a null field as it is: an emptied window is sent as 0, "no window"
    if (name === "catchup_window_seconds" && value === null && job && job[name] !== null) value = 0;
    if (job && JSON.stringify(job[name]) === JSON.stringify(value)) continue;
    body[name] = value;
  }
  return body;
}

async function showPreview(preview, fields, previewParameters) {
  const expression = fields.cron_expression.control.value.trim();
  const problem = fields.cron_expression.problem;
  if (!expression) {
    replace(preview, h("p", { class: "muted" }, "Type an expression to see when it fires."));
    return;
  }
  const asked = { cron_expression: expression, count: 5 };
  for (const name of previewParameters) {
    if (fields[name] && name !== "cron_expression") asked[name] = read(fields[name]);
  }
  try {
    const found = await get(`/api/cron-preview${query(asked)}`);
    if (fields.cron_expression.control.value.trim() !== expression) return; // typed on meanwhile
    problem.hidden = true;
    fields.cron_expression.control.removeAttribute("aria-invalid");
    replace(preview, h("ol", { class: "fire-times" },
      ...found.next_fire_times.map((moment, index) => h("li", {}, time(moment), " ",
        h("span", { class: "muted" }, `${relative(moment)}; ${found.next_fire_times_local[index].replace("T", " ")} ${found.timezone}`)))));
  } catch (error) {
    if (fields.cron_expression.control.value.trim() !== expression) return;
    problem.textContent = error.message;
    problem.hidden = false;
    fields.cron_expression.control.setAttribute("aria-invalid", "true");
    replace(preview, h("p", { class: "muted" }, "No fire times: the expression is refused (see above)."));
  }
}

