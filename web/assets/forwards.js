// Forwarding: fees earned per day (a bar chart drawn here, as inline SVG), and the forwards
// bob's node routed, settled and failed, with paging and filters (status, channel). Both
// follow the event stream: a forward appears as it happens.

import { api } from "./api.js";
import { CursorPages } from "./paging.js";
import { badge, card, detailList, empty, fill, h, msat, openDrawer, pager, relative, short, time, toast } from "./ui.js";

const PAGE_SIZE = 25;
/** Days the chart shows, today included. */
const CHART_DAYS = 14;
const DAY_SECS = 86_400;
const SVG_NS = "http://www.w3.org/2000/svg";

function svg(tag, attributes = {}, ...children) {
	const el = document.createElementNS(SVG_NS, tag);
	for (const [key, value] of Object.entries(attributes)) el.setAttribute(key, String(value));
	for (const child of children) el.append(child);
	return el;
}

/** `YYYY-MM-DD` (UTC) of a UNIX time, as the API names days. */
export function utcDay(unix) {
	return new Date(unix * 1000).toISOString().slice(0, 10);
}

/** The start of today (UTC), in UNIX seconds. */
export function todayStart() {
	const now = Math.floor(Date.now() / 1000);
	return now - (now % DAY_SECS);
}

/** Bars of fees earned per day, oldest on the left; a day without forwards has no bar. */
function feeChart(buckets) {
	const first = todayStart() - (CHART_DAYS - 1) * DAY_SECS;
	const byDay = new Map(buckets.map((b) => [b.day, b]));
	const days = Array.from({ length: CHART_DAYS }, (_, i) => utcDay(first + i * DAY_SECS));
	const max = Math.max(1, ...days.map((d) => byDay.get(d)?.fees_msat ?? 0));
	const [width, height, top, bottom] = [CHART_DAYS * 40, 160, 16, 22];
	const plot = height - top - bottom;
	const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "fee-chart", id: "fee-chart", role: "img", "aria-label": "Fees earned per day" });
	chart.append(svg("line", { x1: 0, y1: height - bottom, x2: width, y2: height - bottom, class: "fee-axis" }));
	days.forEach((day, i) => {
		const x = i * 40 + 8;
		const bucket = byDay.get(day);
		if (bucket && bucket.count > 0) {
			// A bar for every day with forwards, however small its fees.
			const barHeight = Math.max(3, Math.round((bucket.fees_msat / max) * plot));
			const bar = svg("rect", {
				x, y: height - bottom - barHeight, width: 24, height: barHeight, rx: 3, class: "fee-bar",
				"data-day": day, "data-fees-msat": bucket.fees_msat,
			}, svg("title", {}, `${day}: ${msat(bucket.fees_msat)} from ${bucket.count} forwards`));
			chart.append(bar);
		}
		if (i % 2 === CHART_DAYS % 2 || i === CHART_DAYS - 1) {
			const label = svg("text", { x: x + 12, y: height - 6, class: "fee-label" });
			label.textContent = day.slice(5);
			chart.append(label);
		}
	});
	return chart;
}

function showDetail(f) {
	openDrawer("Forward", detailList([
		["Status", badge(f.status === "settled" ? "succeeded" : "failed", f.status)],
		["When", time(f.timestamp)],
		["In", msat(f.in_amount_msat)],
		["Out", msat(f.out_amount_msat)],
		["Fee earned", msat(f.fee_msat)],
		["Failure", f.failure_reason],
		["In channel", f.in_channel_id, true],
		["From peer", f.in_peer_node_id, true],
		["Out channel", f.out_channel_id, true],
		["To peer", f.out_peer_node_id, true],
		["Id", f.id, true],
	]));
}

function select(id, options, onchange) {
	const el = h("select", { id, onchange: () => onchange(el.value) },
		options.map(([value, label]) => h("option", { value }, label)));
	return el;
}

export function mount(root, { store }) {
	const filters = { status: "", channel_id: "" };
	const pages = new CursorPages("/v1/forwards", "forwards", "id", PAGE_SIZE);
	const list = h("div", { class: "table-wrap", id: "forward-list" });
	const chart = h("div", { id: "fee-chart-box" });
	const totals = h("div", { class: "muted small", id: "fee-totals" });
	const report = (e) => toast(e.message, "error");
	const apply = () => {
		pages.params = Object.fromEntries(Object.entries(filters).filter(([, v]) => v));
		pages.firstPage().then(render, report);
	};
	const status = select("forward-status", [["", "All"], ["settled", "Settled"], ["failed", "Failed"]], (v) => {
		filters.status = v;
		apply();
	});
	const channel = h("select", { id: "forward-channel", onchange: () => { filters.channel_id = channel.value; apply(); } });
	const renderChannels = () => {
		const chosen = channel.value;
		fill(channel, h("option", { value: "" }, "All channels"),
			(store.data.channels ?? []).map((c) => h("option", { value: c.channel_id }, `${short(c.channel_id)} · ${short(c.counterparty_node_id)}`)));
		channel.value = chosen;
	};

	async function loadChart() {
		const since = todayStart() - (CHART_DAYS - 1) * DAY_SECS;
		const summary = await api("GET", `/v1/forwards/summary?group_by=day&since=${since}`);
		fill(chart, feeChart(summary.buckets));
		fill(totals, `${msat(summary.totals.fees_msat)} earned from ${summary.totals.count} forwards (${msat(summary.totals.volume_msat)} routed) in ${CHART_DAYS} days`);
	}

	function render() {
		if (!pages.items) return fill(list, empty("Loading…"));
		if (!pages.items.length) return fill(list, empty("No forwards yet."));
		fill(list,
			h("table", { class: "table", id: "forward-table" },
				h("thead", {}, h("tr", {},
					h("th", {}, "When"), h("th", {}, "In channel"), h("th", {}, "Out channel"),
					h("th", { class: "num" }, "Amount"), h("th", { class: "num" }, "Fee"), h("th", {}, "Status"))),
				h("tbody", {}, pages.items.map((f) => h("tr", { class: "clickable", dataset: { forward: f.id }, onclick: () => showDetail(f) },
					h("td", { class: "muted", title: time(f.timestamp) }, relative(f.timestamp)),
					h("td", { class: "mono" }, short(f.in_channel_id ?? "—")),
					h("td", { class: "mono" }, short(f.out_channel_id ?? "—")),
					h("td", { class: "num" }, msat(f.out_amount_msat)),
					h("td", { class: "num", dataset: { field: "fee" } }, msat(f.fee_msat)),
					h("td", { dataset: { field: "status" }, title: f.failure_reason ?? "" },
						badge(f.status === "settled" ? "succeeded" : "failed", f.status)))))),
			pager({
				from: pages.from, count: pages.items.length, total: pages.total, hasPrev: pages.hasPrev, hasNext: pages.hasNext,
				onPrev: () => pages.prevPage().then(render, report), onNext: () => pages.nextPage().then(render, report),
			}));
	}

	fill(root,
		card("Fees earned per day", h("div", {}, chart, totals)),
		card("Forwards", list, status, channel));
	renderChannels();
	const offs = [
		store.on("forward", () => {
			loadChart().catch(report);
			if (!pages.hasPrev) pages.load().then(render, report);
		}),
		store.on("channels", renderChannels),
		store.on("poll", () => {
			loadChart().catch(report);
			pages.load().then(render, report);
		}),
	];
	render();
	pages.load().then(render, report);
	loadChart().catch(report);
	return { unmount: () => offs.forEach((off) => off()) };
}
