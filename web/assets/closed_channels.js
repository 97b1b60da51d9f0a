// Closed channels on the channels page: how each closed, its closing transaction, our settled
// balance and what is still claimable on-chain until the sweeper brings it back. One page of
// the newest; reloaded whenever the channels change (a close reloads them).

import { api } from "./api.js";
import { badge, card, detailList, empty, fill, h, openDrawer, pager, relative, sat, short, time } from "./ui.js";

const PAGE_SIZE = 20;

const TYPE_LABELS = {
	cooperative: "cooperative",
	local_force: "local force",
	remote_force: "remote force",
	breach: "breach",
	funding_failed: "funding failed",
	other: "other",
};

function typeBadge(c) {
	const tone = c.closing_type === "cooperative" ? "expired" : c.closing_type === "breach" ? "failed" : "pending";
	return h("span", { class: `badge badge-${tone}`, dataset: { closingType: c.closing_type } }, TYPE_LABELS[c.closing_type] ?? c.closing_type);
}

function claimable(c) {
	return c.claimable_sat > 0 ? badge("pending", sat(c.claimable_sat)) : h("span", { class: "muted" }, "swept");
}

function showDetail(c) {
	openDrawer("Closed channel", detailList([
		["Closing type", typeBadge(c)],
		["Channel id", c.channel_id, true],
		["Peer", c.counterparty_node_id, true],
		["Funding outpoint", c.funding_txo, true],
		["Closing transaction", c.closing_txid ?? "not confirmed yet", true],
		["Confirmed at height", c.closing_height ?? "—"],
		["Capacity", sat(c.capacity_sat)],
		["Our settled balance", sat(c.settled_balance_sat)],
		["Still claimable on-chain", sat(c.claimable_sat)],
		["Reason", c.closure_reason],
		["Closed", `${time(c.closed_at)} (${relative(c.closed_at)})`],
	]));
}

/** The closed channels card; `store` tells it when channels change. */
export function closedCard(store) {
	const body = h("div", { id: "closed-channels" }, empty("Loading…"));
	let cursors = [null];
	let page = 0;

	async function load() {
		const cursor = cursors[page];
		const query = `?limit=${PAGE_SIZE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
		try {
			const r = await api("GET", `/v1/channels/closed${query}`);
			cursors[page + 1] = r.next_cursor;
			render(r);
		} catch (e) {
			fill(body, empty(`Closed channels could not be loaded: ${e.message}`));
		}
	}

	function render(r) {
		if (!r.closed_channels.length) return fill(body, empty("No closed channels."));
		fill(body,
			h("table", { class: "table" },
				h("thead", {}, h("tr", {},
					h("th", {}, "Peer"), h("th", {}, "Type"), h("th", { class: "num" }, "Capacity"),
					h("th", { class: "num" }, "Settled"), h("th", { class: "num" }, "Claimable"),
					h("th", {}, "Closing tx"), h("th", {}, "Closed"))),
				h("tbody", {}, r.closed_channels.map((c) => h("tr", { dataset: { closedChannel: c.channel_id }, class: "clickable", onclick: () => showDetail(c) },
					h("td", { class: "mono" }, short(c.counterparty_node_id)),
					h("td", {}, typeBadge(c)),
					h("td", { class: "num" }, sat(c.capacity_sat)),
					h("td", { class: "num" }, sat(c.settled_balance_sat)),
					h("td", { class: "num claimable" }, claimable(c)),
					h("td", { class: "mono muted" }, c.closing_txid ? short(c.closing_txid) : "unconfirmed"),
					h("td", { class: "muted" }, relative(c.closed_at)))))),
			pager({
				from: page * PAGE_SIZE + 1, count: r.closed_channels.length, total: r.total,
				hasPrev: page > 0, hasNext: r.next_cursor != null,
				onPrev: () => { page--; load(); }, onNext: () => { page++; load(); },
			}));
	}

	const reload = () => { cursors = [null]; page = 0; load(); };
	const off = [store.on("channels", reload), store.on("balance", reload)];
	load();
	return { element: card("Closed channels", body), unmount: () => off.forEach((f) => f()) };
}
