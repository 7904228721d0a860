// Queue health: runs waiting, pending and running; every worker pool with the depth of its work
// queue and of its dead-letter queue; one pool's dead-letter queue (the default pool's first, or the
// one chosen) with a look at its messages and redrive back to that pool's work queue.

import { canOperate, get, post } from "../api.js";
import { badge, confirmAction, emptyRow, h, notify, replace, time } from "../dom.js";

const REFRESH_MS = 5000;

export async function render(main) {
  const state = { timer: null, pool: "default", operator: await canOperate() };
  const body = h("div", { id: "queue-health" });
  replace(main, h("h1", {}, "Queue health"), body);
  const load = async () => {
    const of = `pool=${encodeURIComponent(state.pool)}`;
    // each part on its own: an emulator without message move tasks still shows the depth and messages
    const [counts, pools, depth, messages, tasks] = (await Promise.allSettled([
      get("/api/stats/status-counts"), get("/api/pools"), get(`/api/dead-letters?${of}`),
      get(`/api/dead-letters/messages?max=10&${of}`), get(`/api/dead-letters/redrives?${of}`),
    ])).map((result) => (result.status === "fulfilled" ? result.value : { failed: result.reason.message }));
    if (counts.failed) throw new Error(counts.failed);
    const choose = (name) => { state.pool = name; load().catch((error) => notify(error.message, "error")); };
    const poolsPanel = Array.isArray(pools) ? poolTable(pools, state.pool, choose)
      : h("p", { class: "muted" }, `The pools cannot be listed here: ${pools.failed.slice(0, 160)}`);
    if (depth.failed) {
      replace(body, poolsPanel, h("p", { class: "error", role: "alert" }, `The dead-letter queue of pool ${state.pool} cannot be read: ${depth.failed}`));
      return;
    }
    const running = Array.isArray(tasks) ? tasks.find((task) => task.status === "RUNNING") : null;
    const redrive = h("button", { type: "button", class: "primary", id: "redrive", disabled: !depth.visible || Boolean(running) }, "Redrive to the work queue");
    redrive.addEventListener("click", async () => {
      const count = depth.visible === 1 ? "1 message goes" : `${depth.visible} messages go`;
      const text = `${count} back to pool ${state.pool}'s work queue; its worker runs each run still PENDING at its attempt.`;
      if (!(await confirmAction(`Redrive pool ${state.pool}'s dead-letter queue?`, text, "Redrive"))) return;
      try {
        const task = await post(`/api/dead-letters/redrive?${of}`);
        notify(`Redrive started: ${task.status}${task.to_move !== null ? `, ${task.to_move} to move` : ""}`);
      } catch (error) {
        notify(error.message, "error");
      }
      load();
    });
    replace(body,
      h("section", { class: "panel", "aria-labelledby": "runs-title" }, h("h2", { id: "runs-title" }, "Runs in flight"),
        h("ul", { class: "tiles" },
          tile("Waiting", counts.counts.WAITING, "#/runs?status=WAITING"),
          tile("Pending", counts.counts.PENDING, "#/runs?status=PENDING"),
          tile("Running", counts.counts.RUNNING, "#/runs?status=RUNNING"),
          tile("Failed", counts.counts.FAILED, "#/runs?status=FAILED"))),
      poolsPanel,
      h("section", { class: "panel", "aria-labelledby": "dlq-title" }, h("h2", { id: "dlq-title" }, `Dead-letter queue: pool ${state.pool}`),
        h("ul", { class: "tiles" },
          tile("Visible", depth.visible, null, "dlq-visible"), tile("In flight", depth.in_flight), tile("Delayed", depth.delayed)),
        h("div", { class: "toolbar" }, state.operator ? redrive : null, running ? h("span", { class: "muted" }, " A redrive is running.") : null),
        Array.isArray(messages) ? peek(messages) : h("p", { class: "error" }, `Messages cannot be read: ${messages.failed}`),
        Array.isArray(tasks) ? redrives(tasks) : h("p", { class: "muted" }, `Redrive tasks cannot be listed here: ${tasks.failed.slice(0, 160)}`)));
  };
  await load();
  state.timer = setInterval(() => {
    if (!document.hidden && !document.querySelector("dialog[open]")) load().catch(() => {});
  }, REFRESH_MS);
  return { leave: () => clearInterval(state.timer) };
}

function poolTable(pools, chosen, choose) {
  const rows = pools.map((pool) => {
    const look = h("button", { type: "button", disabled: pool.name === chosen, "aria-pressed": String(pool.name === chosen) }, pool.name === chosen ? "Shown below" : "Show its dead letters");
    look.addEventListener("click", () => choose(pool.name));
    return h("tr", { "data-pool": pool.name },
      h("th", { scope: "row" }, pool.name),
      h("td", {}, pool.handlers.join(", ")),
      h("td", {}, String(pool.work_queue.visible)), h("td", {}, String(pool.work_queue.in_flight)),
      h("td", {}, String(pool.dead_letters.visible)),
      h("td", {}, pool.worker_timeout_seconds === null ? "—" : `${pool.worker_timeout_seconds} s`),
      h("td", {}, look));
  });
  return h("section", { class: "panel", "aria-labelledby": "pools-title" }, h("h2", { id: "pools-title" }, "Worker pools"),
    h("table", { class: "grid compact", id: "pools" },
      h("caption", { class: "visually-hidden" }, "Worker pools and their queues"),
      h("thead", {}, h("tr", {}, ...["Pool", "Handlers", "Waiting", "In flight", "Dead letters", "Timeout", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows)));
}

function tile(label, value, link, id) {
  const number = h("span", { class: "number", id }, String(value ?? 0));
  return h("li", { class: "tile" }, h("span", { class: "label" }, label), link ? h("a", { href: link, "aria-label": `${label}: ${value ?? 0} runs` }, number) : number);
}

function peek(messages) {
  const rows = messages.map((message) => h("tr", {},
    h("td", {}, h("code", {}, message.message_id.slice(0, 8))),
    h("td", {}, message.execution_id ? h("a", { href: `#/runs/${message.execution_id}` }, `#${message.execution_id}`) : "—"),
    h("td", {}, message.run_status ? badge(message.run_status) : "—"),
    h("td", {}, message.attempt ?? "—"),
    h("td", {}, String(message.receive_count)),
    h("td", {}, time(message.sent_at)),
    h("td", {}, message.reason || h("code", { class: "value" }, message.body.slice(0, 120)))));
  return h("div", {}, h("h3", {}, "Messages (a look: they stay in the queue)"),
    h("table", { class: "grid compact", id: "dead-letters" },
      h("caption", { class: "visually-hidden" }, "Dead-letter messages"),
      h("thead", {}, h("tr", {}, ...["Message", "Run", "Run status", "Attempt", "Receives", "Sent", "Reason or body"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows.length ? rows : emptyRow(7, "The dead-letter queue is empty."))));
}

function redrives(tasks) {
  if (!tasks.length) return null;
  return h("div", {}, h("h3", {}, "Redrives (last 14 days)"),
    h("ul", { class: "plain" }, ...tasks.map((task) => h("li", {},
      `${task.status}: ${task.moved} moved${task.to_move !== null ? ` of ${task.to_move}` : ""}`,
      task.started_at ? [", started ", time(task.started_at)] : null,
      task.failure_reason ? ` (${task.failure_reason})` : null))));
}
