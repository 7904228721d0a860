// Pictures drawn as inline SVG: a strip of a cron job's recent runs, runs per time bucket stacked by
// status, and run durations over time. Each has a text alternative that says what it shows.

import { STATUSES, seconds, utc } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";

function s(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  for (const child of children) element.append(child instanceof Node ? child : document.createTextNode(child));
  return element;
}

function tally(statuses) {
  const counts = {};
  for (const status of statuses) counts[status] = (counts[status] || 0) + 1;
  return Object.entries(counts).map(([status, count]) => `${count} ${status}`).join(", ");
}

// Oldest on the left, newest on the right, one square per run.
export function strip(runs, size = 10) {
  const ordered = [...runs].reverse();
  const label = ordered.length ? `Last ${ordered.length} runs: ${tally(ordered.map((r) => r.status))}` : "No runs yet";
  const width = Math.max(1, ordered.length) * (size + 2);
  const svg = s("svg", { class: "strip", role: "img", "aria-label": label, width, height: size, viewBox: `0 0 ${width} ${size}` });
  svg.append(s("title", {}, label));
  ordered.forEach((run, index) => {
    svg.append(s("rect", { x: index * (size + 2), y: 0, width: size, height: size, rx: 2, class: `fill-${run.status.toLowerCase()}` },
      s("title", {}, `run ${run.id}: ${run.status}, ${utc(run.created_at)}`)));
  });
  return svg;
}

const WIDTH = 720;
const HEIGHT = 170;
const PAD = { left: 46, right: 10, top: 10, bottom: 24 };

function frame(label, maximum, unit) {
  const svg = s("svg", { class: "chart", role: "img", "aria-label": label, viewBox: `0 0 ${WIDTH} ${HEIGHT}`, preserveAspectRatio: "none" });
  svg.append(s("title", {}, label));
  const bottom = HEIGHT - PAD.bottom;
  svg.append(s("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: bottom, y2: bottom, class: "axis" }));
  svg.append(s("text", { x: PAD.left - 6, y: PAD.top + 8, class: "tick", "text-anchor": "end" }, unit(maximum)));
  svg.append(s("text", { x: PAD.left - 6, y: bottom, class: "tick", "text-anchor": "end" }, unit(0)));
  return svg;
}

function timeTicks(svg, buckets) {
  const label = (bucket) => utc(bucket.start).slice(11, 16);
  svg.append(s("text", { x: PAD.left, y: HEIGHT - 6, class: "tick" }, label(buckets[0])));
  svg.append(s("text", { x: WIDTH - PAD.right, y: HEIGHT - 6, class: "tick", "text-anchor": "end" }, `${label(buckets[buckets.length - 1])} UTC`));
}

export function runsPerBucket(timeline) {
  const buckets = timeline.buckets;
  const total = buckets.reduce((sum, bucket) => sum + bucket.runs, 0);
  const peak = buckets.reduce((best, bucket) => (bucket.runs > best.runs ? bucket : best), buckets[0] || { runs: 0 });
  const per = timeline.bucket_seconds === 60 ? "minute" : `${timeline.bucket_seconds / 60} minutes`;
  const label = buckets.length
    ? `Runs per ${per} from ${utc(timeline.from_date)} to ${utc(timeline.to_date)}: ${total} in all` +
      (total ? `, at most ${peak.runs} at ${utc(peak.start)}` : "")
    : "No data";
  const maximum = Math.max(1, ...buckets.map((bucket) => bucket.runs));
  const svg = frame(label, maximum, (value) => String(value));
  if (!buckets.length) return svg;
  const slot = (WIDTH - PAD.left - PAD.right) / buckets.length;
  const scale = (HEIGHT - PAD.top - PAD.bottom) / maximum;
  buckets.forEach((bucket, index) => {
    let y = HEIGHT - PAD.bottom;
    for (const status of STATUSES) {
      const count = bucket.by_status[status] || 0;
      if (!count) continue;
      const height = count * scale;
      y -= height;
      svg.append(s("rect", { x: PAD.left + index * slot + 1, y, width: Math.max(1, slot - 2), height, class: `fill-${status.toLowerCase()}` },
        s("title", {}, `${utc(bucket.start)}: ${count} ${status}`)));
    }
  });
  timeTicks(svg, buckets);
  return svg;
}

export function durations(timeline) {
  const buckets = timeline.buckets;
  const timed = buckets.filter((bucket) => bucket.timed);
  const longest = Math.max(0, ...timed.map((bucket) => bucket.duration_max_seconds || 0));
  const label = timed.length
    ? `Run duration over time: average and longest per bucket; the longest run took ${seconds(longest)}`
    : "Run duration over time: no run finished in this window";
  const maximum = longest || 1;
  const svg = frame(label, maximum, (value) => seconds(value));
  if (!buckets.length) return svg;
  const slot = (WIDTH - PAD.left - PAD.right) / buckets.length;
  const x = (index) => PAD.left + index * slot + slot / 2;
  const y = (value) => HEIGHT - PAD.bottom - (value / maximum) * (HEIGHT - PAD.top - PAD.bottom);
  for (const [field, kind] of [["duration_max_seconds", "longest"], ["duration_avg_seconds", "average"]]) {
    const points = buckets.map((bucket, index) => [index, bucket[field]]).filter(([, value]) => value !== null);
    if (points.length > 1) {
      svg.append(s("polyline", { class: `line ${kind}`, points: points.map(([i, v]) => `${x(i)},${y(v)}`).join(" ") }));
    }
    for (const [index, value] of points) {
      svg.append(s("circle", { cx: x(index), cy: y(value), r: 2.5, class: `dot ${kind}` },
        s("title", {}, `${utc(buckets[index].start)}: ${kind} ${seconds(value)}`)));
    }
  }
  timeTicks(svg, buckets);
  return svg;
}

export function legend(items) {
  const list = document.createElement("ul");
  list.className = "legend";
  for (const [kind, text] of items) {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = `swatch ${kind}`;
    swatch.setAttribute("aria-hidden", "true");
    item.append(swatch, text);
    list.append(item);
  }
  return list;
}
