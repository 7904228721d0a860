// What a run's row and its detail page both offer: retry, cancel (when the API offers it), delete.

import { del, offers, post } from "../api.js";
import { confirmAction, h, notify } from "../dom.js";

const RETRYABLE = ["FAILED", "TIMEOUT"];
const ACTIVE = ["WAITING", "PENDING", "RUNNING"];
const CANCEL = /^\/api\/jobs\/\{[^}]+\}\/cancel$/;

// Cancel arrives with the scheduling work: shown once the API's OpenAPI document has the route.
export async function canCancel() {
  try {
    return await offers("post", CANCEL);
  } catch {
    return false;
  }
}

async function attempt(operation, done) {
  try {
    const result = await operation();
    done(result);
  } catch (error) {
    notify(error.message, "error");
  }
}

// `operator`: the caller may change things (api.js role()); a viewer gets no button at all.
export function runActions(run, { cancel, after, remove = false, operator }) {
  const buttons = [];
  if (!operator) return buttons;
  if (RETRYABLE.includes(run.status)) {
    buttons.push(h("button", {
      type: "button", "aria-label": `Retry run ${run.id}`,
      onclick: () => attempt(() => post(`/api/jobs/${run.id}/retry`), (result) => {
        notify(`Run ${run.id} retried: ${result.run.status}${result.queued ? ", queued" : ""}`);
        after();
      }),
    }, "Retry"));
  }
  if (cancel && ACTIVE.includes(run.status)) {
    buttons.push(h("button", {
      type: "button", class: "danger", "aria-label": `Cancel run ${run.id}`,
      onclick: async () => {
        if (!(await confirmAction(`Cancel run ${run.id}?`, "A queued run never starts; a running one is stopped.", "Cancel run", "Keep it"))) return;
        attempt(() => post(`/api/jobs/${run.id}/cancel`), () => { notify(`Run ${run.id} cancelled`); after(); });
      },
    }, "Cancel"));
  }
  if (remove && !ACTIVE.includes(run.status)) {
    buttons.push(h("button", {
      type: "button", class: "danger", "aria-label": `Delete run ${run.id}`,
      onclick: async () => {
        if (!(await confirmAction(`Delete run ${run.id}?`, "It leaves the history for good.", "Delete"))) return;
        attempt(() => del(`/api/jobs/${run.id}`), () => { notify(`Run ${run.id} deleted`); window.location.hash = "#/runs"; });
      },
    }, "Delete"));
  }
  return buttons;
}
