// Watchtowers: whatever `GET /v1/towers` lists; "no towers configured" when the node has
// none or does not have the endpoint.

import { api } from "./api.js";
import { card, empty, fill, h } from "./ui.js";

function rowsOf(answer) {
	if (Array.isArray(answer)) return answer;
	if (answer && typeof answer === "object") {
		const list = Object.values(answer).find(Array.isArray);
		if (list) return list;
	}
	return [];
}

function cell(value) {
	if (value === null || value === undefined) return "—";
	if (typeof value === "boolean") return value ? "yes" : "no";
	if (typeof value === "object") return JSON.stringify(value);
	return String(value);
}

export function mount(root, { store }) {
	const body = h("div", { class: "table-wrap", id: "tower-list" }, empty("Loading…"));
	fill(root, card("Watchtowers", body));
	const load = async () => {
		let towers;
		try {
			towers = rowsOf(await api("GET", "/v1/towers"));
		} catch (e) {
			if (e.status !== 404 && e.status !== 405) return fill(body, empty(`Cannot list towers: ${e.message}`));
			towers = [];
		}
		if (!towers.length) return fill(body, empty("No towers configured."));
		const columns = [...new Set(towers.flatMap((t) => Object.keys(t)))];
		fill(body, h("table", { class: "table" },
			h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c.replaceAll("_", " "))))),
			h("tbody", {}, towers.map((t) => h("tr", {}, columns.map((c) => h("td", { class: typeof t[c] === "string" && t[c].length > 40 ? "mono ellipsis" : undefined }, cell(t[c]))))))));
	};
	load();
	const off = store.on("poll", load);
	return { unmount: off };
}
