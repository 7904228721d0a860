// Notifications: the rules that tell people of runs' outcomes (a signed webhook or an SNS topic),
// each with "Send a test" and its latest deliveries; a form for a new rule whose refusals are the
// API's. The secret is write-only: the API never sends it back.

import { canOperate, del, get, post } from "../api.js";
import { confirmAction, emptyRow, h, notify, replace, time } from "../dom.js";

const EVENTS = ["FAILED", "TIMEOUT", "CANCELLED", "EXPIRED", "SUCCESS", "RECOVERED", "MISSED", "LATE"];

export async function render(main) {
  const operator = await canOperate();
  const list = h("div", { id: "rules-list" });
  const formArea = h("div", { id: "rule-form-area" });
  const reload = async () => {
    const rules = await get("/api/notification-rules");
    replace(list,
      h("table", { class: "grid" },
        h("caption", { class: "visually-hidden" }, "Notification rules"),
        h("thead", {}, h("tr", {}, ...["Rule", "Handler", "Statuses", "Destination", "Enabled", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, rules.length ? rules.map((rule) => row(rule, reload, operator)) : emptyRow(6, "No notification rules."))));
  };
  replace(main, h("h1", {}, "Notifications"),
    h("p", { class: "muted" }, "Who is told when a handler's runs fail, time out, are cancelled, recover, or a cron slot is missed. A webhook's body is signed (X-Jobu-Signature: t=…,v1=HMAC-SHA256 of \"t.body\"); each outcome is sent once, retried with backoff until it is delivered."),
    operator ? h("div", { class: "toolbar" },
      h("button", { type: "button", class: "primary", id: "new-rule", onclick: () => openForm(formArea, reload) }, "New rule")) : null,
    formArea, list);
  await reload();
  return {};
}

function row(rule, reload, operator) {
  const results = h("span", { class: "test-result", "aria-live": "polite" });
  const test = async () => {
    replace(results, "Sending …");
    try {
      const answer = await post(`/api/notification-rules/${rule.id}/test`);
      const sent = answer.notification;
      replace(results, answer.delivered
        ? h("span", { class: "ok" }, `Delivered (answer ${sent.response_status ?? "ok"}) at `, time(sent.delivered_at))
        : h("span", { class: "error" }, `Not delivered: ${sent.last_error}`));
    } catch (error) {
      replace(results, h("span", { class: "error" }, error.message));
    }
  };
  const remove = async () => {
    if (!(await confirmAction(`Delete rule ${rule.id}?`, "Its undelivered notifications are not sent.", "Delete"))) return;
    try {
      await del(`/api/notification-rules/${rule.id}`);
      notify(`Rule ${rule.id} deleted`);
      reload();
    } catch (error) {
      notify(error.message, "error");
    }
  };
  return h("tr", { dataset: { ruleId: rule.id } },
    h("th", { scope: "row" }, `#${rule.id}`),
    h("td", {}, rule.handler_name === "*" ? "every handler" : rule.handler_name),
    h("td", {}, rule.statuses.join(", ")),
    h("td", {}, h("code", {}, rule.webhook_url || rule.sns_topic_arn), rule.webhook_url && rule.secret_set ? h("span", { class: "muted" }, " (signed)") : null),
    h("td", {}, rule.is_enabled ? "yes" : "no"),
    h("td", { class: "actions" },
      operator ? h("button", { type: "button", onclick: test, "aria-label": `Send a test through rule ${rule.id}` }, "Send a test") : null,
      operator ? h("button", { type: "button", class: "danger", onclick: remove, "aria-label": `Delete rule ${rule.id}` }, "Delete") : null,
      results));
}

function field(name, label, control, help) {
  control.id = `rule-${name}`;
  control.name = name;
  const helpId = `rule-${name}-help`;
  if (help) control.setAttribute("aria-describedby", helpId);
  return h("div", { class: `field field-${name}` }, h("label", { for: control.id }, label), control,
    help ? h("p", { class: "help", id: helpId }, help) : null);
}

function openForm(area, reload) {
  const handler = h("input", { type: "text", value: "*", required: true });
  const webhook = h("input", { type: "url", placeholder: "https://hooks.example.com/jobu" });
  const secret = h("input", { type: "password", autocomplete: "new-password", minlength: 16 });
  const topic = h("input", { type: "text", placeholder: "arn:aws:sns:region:account:topic" });
  const boxes = EVENTS.map((event) => h("input", { type: "checkbox", id: `rule-event-${event}`, value: event, checked: event === "FAILED" || event === "TIMEOUT" }));
  const problem = h("p", { class: "field-error", id: "rule-form-error", role: "alert", hidden: true });
  const form = h("form", { class: "panel", id: "rule-form", "aria-labelledby": "rule-form-title", novalidate: true },
    h("h2", { id: "rule-form-title" }, "New notification rule"),
    h("div", { class: "form-grid" },
      field("handler_name", "Handler", handler, "a handler's name, or * for every handler"),
      field("webhook_url", "Webhook URL", webhook, "https; or leave empty and give an SNS topic"),
      field("secret", "Secret", secret, "at least 16 characters; signs the webhook's bodies and is never shown again"),
      field("sns_topic_arn", "SNS topic ARN", topic, "instead of a webhook")),
    h("fieldset", { class: "events" }, h("legend", {}, "Statuses that notify"),
      ...boxes.map((box) => h("span", { class: "check" }, box, h("label", { for: box.id }, box.value)))),
    problem,
    h("div", { class: "actions" },
      h("button", { type: "button", onclick: () => replace(area) }, "Cancel"),
      h("button", { type: "submit", class: "primary" }, "Create")));
  replace(area, form);
  handler.focus();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.hidden = true;
    const body = {
      handler_name: handler.value.trim(),
      statuses: boxes.filter((box) => box.checked).map((box) => box.value),
      is_enabled: true,
    };
    if (webhook.value.trim()) body.webhook_url = webhook.value.trim();
    if (secret.value) body.secret = secret.value;
    if (topic.value.trim()) body.sns_topic_arn = topic.value.trim();
    try {
      const rule = await post("/api/notification-rules", body);
      notify(`Rule ${rule.id} created`);
      replace(area);
      reload();
    } catch (error) {
      problem.hidden = false;
      problem.textContent = error.message;
    }
  });
}
