// The admin API, through the dashboard server (which signs the calls on AWS), and what it offers.

const TOKEN_KEY = "jobu-dashboard-token";

// The server prints its URL with ?token=...: keep it for this tab and take it out of the address bar.
function token() {
  const url = new URL(window.location.href);
  const given = url.searchParams.get("token");
  if (given) {
    sessionStorage.setItem(TOKEN_KEY, given);
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  return sessionStorage.getItem(TOKEN_KEY) || "";
}
const TOKEN = token();

export class ApiError extends Error {
  constructor(status, body) {
    const detail = body && body.detail;
    super(typeof detail === "string" ? detail : (body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.error = body && body.error;
    this.detail = detail;
    this.field = body && body.field;
  }

  // {field: message} for a refused cron job: pydantic's per-field problems, or the field jobu names
  fieldProblems() {
    const problems = {};
    if (Array.isArray(this.detail)) {
      for (const problem of this.detail) {
        const field = problem.loc && problem.loc[0] === "body" ? problem.loc[1] : undefined;
        const key = field === undefined ? "" : String(field);
        problems[key] = problems[key] ? `${problems[key]}; ${problem.msg}` : problem.msg;
      }
    } else if (this.error === "duplicate") {
      problems.name = this.message;
    } else {
      problems[this.field || ""] = this.message;
    }
    return problems;
  }
}

export async function call(method, path, body) {
  const headers = { "X-Jobu-Dashboard-Token": TOKEN, Accept: "application/json" };
  const options = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { error: "not_json", detail: text.slice(0, 300) }; }
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const get = (path) => call("GET", path);
export const post = (path, body) => call("POST", path, body);
export const put = (path, body) => call("PUT", path, body);
export const del = (path) => call("DELETE", path);

export function query(parameters) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

let document_;
// The OpenAPI document, read once: an operation is offered when the API documents it (cancel arrives
// with the scheduling work), and a cron job's fields are the ones its schema lists.
export async function openapi() {
  document_ = document_ || get("/openapi.json");
  return document_;
}

export async function offers(method, pattern) {
  const spec = await openapi();
  return Object.entries(spec.paths || {}).some(([path, item]) => pattern.test(path) && item[method]);
}

export async function schema(name) {
  const spec = await openapi();
  return ((spec.components || {}).schemas || {})[name] || { properties: {} };
}

export async function parameters(path, method = "get") {
  const spec = await openapi();
  const operation = ((spec.paths || {})[path] || {})[method] || {};
  return (operation.parameters || []).map((parameter) => parameter.name);
}

let context_;
export async function context() {
  context_ = context_ || get("/dashboard/context");
  return context_;
}

let role_;
// What the caller may do, as the API says: POST /api/access/check answers operators only (API
// Gateway refuses a viewer's POST with 403 before the function, as the viewer policy allows GET
// routes only). An API older than the probe (404) has no roles: everyone who reaches it operates.
// Anything else shows the read-only view: the API refuses what it does not allow anyway.
export async function role() {
  role_ = role_ || call("POST", "/api/access/check").then(
    (answer) => answer.role,
    (error) => (error.status === 404 ? "operator" : "viewer"));
  return role_;
}

export async function canOperate() {
  return (await role()) === "operator";
}
