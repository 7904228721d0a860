// The dashboard's router: #/crons, #/runs?filters, #/runs/42, #/batches, #/batches/7, #/rejected,
// #/queue, #/audit?filters, #/notifications.

import { context, role } from "./api.js";
import { clearStaleNotice, h, replace } from "./dom.js";
import * as audit from "./pages/audit.js";
import * as batch from "./pages/batch.js";
import * as batches from "./pages/batches.js";
import * as crons from "./pages/crons.js";
import * as notifications from "./pages/notifications.js";
import * as queue from "./pages/queue.js";
import * as rejected from "./pages/rejected.js";
import * as run from "./pages/run.js";
import * as runs from "./pages/runs.js";

const main = document.getElementById("main");
let current = null;

function route() {
  const [path, search = ""] = (window.location.hash.slice(1) || "/crons").split("?");
  const parameters = new URLSearchParams(search);
  const detail = path.match(/^\/runs\/(\d+)$/);
  if (detail) return { page: "runs", view: run, argument: Number(detail[1]) };
  const oneBatch = path.match(/^\/batches\/(\d+)$/);
  if (oneBatch) return { page: "batches", view: batch, argument: Number(oneBatch[1]) };
  const pages = { "/crons": crons, "/runs": runs, "/batches": batches, "/rejected": rejected, "/queue": queue, "/audit": audit, "/notifications": notifications };
  const view = pages[path];
  return view ? { page: path.slice(1), view, argument: parameters } : { page: "", view: null };
}

async function show() {
  if (current && current.leave) current.leave();
  current = null;
  const { page, view, argument } = route();
  for (const link of document.querySelectorAll("nav a[data-page]")) {
    if (link.dataset.page === page) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (!view) {
    replace(main, h("h1", {}, "Not found"), h("p", {}, h("a", { href: "#/crons" }, "Go to the cron jobs")));
    return;
  }
  clearStaleNotice();
  replace(main, h("p", { class: "muted" }, "Loading ..."));
  try {
    current = await view.render(main, argument);
  } catch (error) {
    replace(main, h("h1", {}, "Something went wrong"), h("p", { class: "error", role: "alert" }, error.message));
  }
}

async function showContext() {
  try {
    const [found, may] = await Promise.all([context(), role()]);
    const where = found.on_aws ? `AWS: ${found.label}` : "local runtime";
    document.getElementById("deployment").textContent = may === "viewer" ? `${where} (read only)` : where;
    document.body.dataset.role = may;
  } catch (error) {
    document.getElementById("deployment").textContent = `not connected: ${error.message}`;
  }
}

window.addEventListener("hashchange", show);
showContext();
show();
