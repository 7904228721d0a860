// One run: params with where each came from, result, error, attempts and times, its chain (parent and
// children), and its log lines (read like `jobu logs --execution-id N`), with a Logs Insights link on AWS.

import { canOperate, context, get, query } from "../api.js";
import { badge, duration, h, json, replace, time } from "../dom.js";
import { canCancel, runActions } from "./actions.js";

const ACTIVE = ["WAITING", "PENDING", "RUNNING"];
const REFRESH_MS = 3000;

export async function render(main, runId) {
  const state = { timer: null, key: null, logs: null, lines: null };
  const [cancel, found, operator] = await Promise.all([canCancel(), context(), canOperate()]);
  const load = async () => {
    const run = await get(`/api/jobs/${runId}`);
    // the page is rebuilt only when the run changed (so focus and scrolling stay put while it runs)
    const key = JSON.stringify([run.status, run.retry_count, run.started_at, run.finished_at, run.children.length]);
    if (key !== state.key) {
      state.key = key;
      state.logs = h("section", { class: "panel", "aria-labelledby": "logs-title" },
        h("h2", { id: "logs-title" }, "Log lines"), h("p", { class: "muted" }, "Reading ..."));
      replace(main,
        h("p", {}, h("a", { href: run.job_id ? `#/runs?cron_id=${run.job_id}` : "#/runs" }, "← Runs")),
        h("div", { class: "title" }, h("h1", {}, `Run #${run.id} `, badge(run.status)),
          h("div", { class: "actions" }, ...runActions(run, { cancel, operator, after: load, remove: true }))),
        summary(run), params(run), outcome(run), chain(run), state.logs);
      state.lines = await showLogs(state.logs, run, found.logs);
    } else if (state.lines === 0) {
      state.lines = await showLogs(state.logs, run, found.logs);
    }
    clearTimeout(state.timer);
    // a run still going is read again; so is one that just ended, until its lines reach CloudWatch Logs
    const justEnded = run.finished_at && Date.now() - new Date(run.finished_at).getTime() < 60000;
    if (ACTIVE.includes(run.status) || (justEnded && state.lines === 0)) {
      state.timer = setTimeout(() => load().catch(() => {}), REFRESH_MS);
    }
  };
  await load();
  return { leave: () => clearTimeout(state.timer) };
}

function definitions(pairs) {
  return h("dl", { class: "facts" }, ...pairs.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

function summary(run) {
  const source = run.source_topic !== null
    ? `${run.param_source} (${run.source_topic}:${run.source_partition}:${run.source_offset})` : run.param_source;
  return h("section", { class: "panel", "aria-labelledby": "summary-title" },
    h("h2", { id: "summary-title" }, "Summary"),
    definitions([
      ["Handler", run.handler_name],
      ["Cron job", run.job_id ? h("a", { href: `#/runs?cron_id=${run.job_id}` }, run.cron_name || `job ${run.job_id}`) : "—"],
      ["Source", source],
      ["Enqueued by", run.enqueued_by || "—"],
      ["Trace", run.trace_parent ? h("code", { title: `traceparent ${run.trace_parent}` }, run.trace_parent.split("-")[1]) : "—"],
      ["Priority", run.priority],
      ["Tags", run.tags && run.tags.length ? h("span", {}, ...run.tags.map((tag) => h("span", { class: "tag" }, tag))) : "—"],
      ["Idempotency key", run.idempotency_key || "—"],
      ["Concurrency key", run.concurrency_key || "—"],
      ["Debounce key", run.debounce_key || "—"],
      ["Attempts", `${run.retry_count + 1} (retries ${run.retry_count} of ${run.max_retry})`],
      ["Timeout", `${run.timeout_seconds} s`],
      ["Scheduled for", time(run.scheduled_time)],
      ["Created", time(run.created_at)],
      ["Runnable from", time(run.available_at)],
      ["Expires", time(run.expires_at)],
      ["Queued", time(run.queued_at)],
      ["Started", time(run.started_at)],
      ["Finished", time(run.finished_at)],
      ["Duration", duration(run)],
    ]));
}

function params(run) {
  const keys = Object.keys(run.params);
  return h("section", { class: "panel", "aria-labelledby": "params-title" },
    h("h2", { id: "params-title" }, "Params"),
    keys.length
      ? h("table", { class: "grid compact" },
        h("caption", { class: "visually-hidden" }, "Params and where each came from"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Key"), h("th", { scope: "col" }, "Value"), h("th", { scope: "col" }, "From"))),
        h("tbody", {}, ...keys.map((key) => h("tr", {},
          h("th", { scope: "row" }, h("code", {}, key)),
          h("td", {}, h("code", { class: "value" }, JSON.stringify(run.params[key]))),
          h("td", {}, h("span", { class: `origin origin-${run.params_provenance[key] || "unknown"}` }, run.params_provenance[key] || "?"))))))
      : h("p", { class: "muted" }, "No params."));
}

function outcome(run) {
  return h("section", { class: "panel", "aria-labelledby": "outcome-title" },
    h("h2", { id: "outcome-title" }, "Result and error"),
    h("h3", {}, "Result"),
    run.result === null ? h("p", { class: "muted" }, "No result.") : h("pre", { class: "json", tabindex: 0 }, json(run.result)),
    h("h3", {}, "Error"),
    run.error_message ? h("pre", { class: "error-text", tabindex: 0 }, run.error_message) : h("p", { class: "muted" }, "No error."));
}

function chain(run) {
  const item = (other, relation) => h("li", {}, `${relation}: `, h("a", { href: `#/runs/${other.id}` }, `#${other.id}`), " ",
    other.handler_name, " ", badge(other.status));
  const items = [
    run.parent ? item(run.parent, "parent") : null,
    h("li", { "aria-current": "true" }, `this run: #${run.id} ${run.handler_name} `, badge(run.status)),
    ...run.children.map((child) => item(child, "child")),
  ];
  return h("section", { class: "panel", "aria-labelledby": "chain-title" },
    h("h2", { id: "chain-title" }, "Chain"),
    run.parent || run.children.length ? h("ol", { class: "chain" }, ...items)
      : h("p", { class: "muted" }, "Not part of a pipeline: no parent and no children."));
}

function level(message) {
  try {
    const document_ = JSON.parse(message);
    if (document_ && typeof document_ === "object") {
      const text = document_.message || (document_.type ? `${document_.type} ${JSON.stringify(document_.record || {})}` : message);
      return { level: document_.level || (document_.type ? "PLATFORM" : ""), text, raw: message };
    }
  } catch { /* a plain text line */ }
  return { level: /^(START|END|REPORT) /.test(message) ? "PLATFORM" : "", text: message, raw: message };
}

async function showLogs(section, run, available) {
  const heading = section.querySelector("h2");
  if (!available) {
    replace(section, heading, h("p", { class: "muted" }, "This dashboard was started without the functions' log groups."));
    return null;
  }
  try {
    const found = await get(`/dashboard/runs/${run.id}/logs${query({ from: run.created_at, to: run.finished_at || "" })}`);
    const rows = found.lines.map((line) => {
      const parsed = level(line.message);
      return h("tr", { class: `log-${parsed.level.toLowerCase()}` },
        h("td", {}, time(new Date(line.timestamp))), h("td", {}, line.function),
        h("td", {}, parsed.level), h("td", {}, h("span", { class: "log-text", title: parsed.raw }, parsed.text)));
    });
    replace(section, heading,
      found.insights_url ? h("p", {}, h("a", { href: found.insights_url, target: "_blank", rel: "noopener noreferrer" }, "Open in CloudWatch Logs Insights")) : null,
      rows.length
        ? h("table", { class: "grid compact logs", id: "log-lines" },
          h("caption", { class: "visually-hidden" }, `Log lines of run ${run.id}`),
          h("thead", {}, h("tr", {}, ...["Time (UTC)", "Function", "Level", "Message"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, ...rows))
        : h("p", { class: "muted" }, found.gone ? "No log lines." : "No log lines yet (they reach CloudWatch Logs a moment after the run ends)."),
      found.gone ? h("p", { class: "muted", id: "logs-gone" }, found.gone) : null,
      found.truncated ? h("p", { class: "muted" }, "Only the first lines are shown.") : null);
    return rows.length;
  } catch (error) {
    replace(section, heading, h("p", { class: "error" }, `Log lines could not be read: ${error.message}`));
    return null;
  }
}
