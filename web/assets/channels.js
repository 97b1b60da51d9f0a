// Channels: balance bars, paging (a node may have thousands; only one page is in the DOM),
// a filter, the open form, cooperative / force close, each channel's forwarding policy
// (edited in its drawer) and the rebalance form.

import { api } from "./api.js";
import { closedCard } from "./closed_channels.js";
import { feeText, policySection, rebalanceForm } from "./policy.js";
import {
	badge, busy, card, confirmDialog, detailList, empty, fill, h, msat, openDrawer, pager, parseSat,
	relative, sat, short, toast,
} from "./ui.js";

const PAGE_SIZE = 50;

/** `node_id@host:port` as the open request wants it. */
function parsePeer(text) {
	const t = text.trim();
	const at = t.indexOf("@");
	if (at < 0) throw new Error("Peer: node_id@host:port");
	const nodeId = t.slice(0, at);
	if (!/^[0-9a-fA-F]{66}$/.test(nodeId)) throw new Error("Peer: the node id is 66 hex characters");
	return { node_id: nodeId.toLowerCase(), address: t.slice(at + 1) };
}

function stateBadge(c) {
	if (c.is_usable) return badge("usable", "active");
	return c.state === "pending" ? badge("pending", "pending") : badge("ready", "offline");
}

function balanceBar(c) {
	const capacity = c.capacity_sat * 1000;
	const local = capacity ? Math.min(100, (c.local_balance_msat / capacity) * 100) : 0;
	const bar = h("div", { class: "balance-bar", title: `local ${msat(c.local_balance_msat)}` }, h("div", { class: "balance-local" }));
	bar.firstChild.style.width = `${local}%`;
	return h("div", { class: "balance-cell" }, bar,
		h("div", { class: "bar-numbers" },
			h("span", {}, msat(c.outbound_capacity_msat)),
			h("span", {}, msat(c.inbound_capacity_msat))));
}

function showDetail(c, store) {
	const saved = (policy) => {
		store.reload("channels");
		showDetail({ ...c, policy }, store);
	};
	openDrawer("Channel", h("div", {}, detailList([
		["State", stateBadge(c)],
		["Channel id", c.channel_id, true],
		["Peer", c.counterparty_node_id, true],
		["Short channel id", c.short_channel_id, true],
		["Funding outpoint", c.funding_txo, true],
		["Capacity", sat(c.capacity_sat)],
		["Local balance", msat(c.local_balance_msat)],
		["Can send", msat(c.outbound_capacity_msat)],
		["Can receive", msat(c.inbound_capacity_msat)],
		["Confirmations", c.confirmations ?? "—"],
		["Opened by", c.is_outbound ? "us" : "peer"],
		["Announced", c.announced ? "yes" : "no"],
		["Monitor updates", `${c.updates_done} done, ${c.updates_in_flight} in flight`],
		["Last persist latency", c.last_persist_latency_us == null ? "—" : `${c.last_persist_latency_us} µs`],
		["Last activity", relative(c.last_activity_at)],
	]), policySection(c, saved)));
}

async function close(c, force, store) {
	const ok = await confirmDialog(
		force ? "Force-close this channel?" : "Close this channel?",
		force
			? "Our latest commitment transaction is broadcast; our funds come back after the timelock. Use this only when the peer is gone."
			: `A cooperative close with ${short(c.counterparty_node_id)}; funds return on-chain once it confirms.`,
		force ? "Force close" : "Close channel",
		force);
	if (!ok) return;
	try {
		await api("POST", `/v1/channels/${encodeURIComponent(c.channel_id)}/close`, { force });
		toast(force ? "Force-close broadcast" : "Closing the channel");
		store.reload("channels", "balance", "info");
	} catch (e) {
		toast(e.message, "error");
	}
}

function openForm(store) {
	const peer = h("input", { id: "open-peer", placeholder: "node_id@host:port", autocomplete: "off", spellcheck: "false" });
	const amount = h("input", { id: "open-amount", inputmode: "numeric", placeholder: "1,000,000" });
	const push = h("input", { id: "open-push", inputmode: "numeric", placeholder: "0" });
	const announce = h("input", { id: "open-announce", type: "checkbox", checked: true });
	const submit = h("button", { type: "submit", class: "btn btn-primary", id: "open-submit" }, "Open channel");
	const form = h("form", { class: "form-grid" },
		h("label", { class: "span-2" }, "Peer", peer),
		h("label", {}, "Capacity (sat)", amount),
		h("label", {}, "Push to peer (sat)", push),
		h("label", { class: "check" }, announce, "Announce to the network"),
		h("div", { class: "form-actions" }, submit));
	form.addEventListener("submit", (e) => {
		e.preventDefault();
		busy(submit, async () => {
			const target = parsePeer(peer.value);
			const amountSat = parseSat(amount.value, "Capacity");
			if (!amountSat) throw new Error("Capacity: how many satoshis to put in the channel");
			const pushSat = parseSat(push.value, "Push");
			const opened = await api("POST", "/v1/channels", {
				...target, amount_sat: amountSat, push_msat: pushSat ? pushSat * 1000 : null, announce: announce.checked,
			});
			toast(`Channel ${short(opened.channel_id)} opening`);
			form.reset();
			store.reload("channels", "balance", "info", "peers");
		});
	});
	return form;
}

export function mount(root, { store }) {
	let page = 0;
	let filter = "";
	const formBox = h("div", { hidden: true }, card("Open a channel", openForm(store)));
	const rebalance = rebalanceForm(store);
	const rebalanceBox = h("div", { hidden: true }, card("Rebalance between two channels", rebalance.form));
	const summary = h("div", { class: "summary" });
	const table = h("div", { class: "table-wrap" });
	const search = h("input", { type: "search", placeholder: "Filter by peer, id or state", class: "search", id: "channel-filter" });
	search.addEventListener("input", () => {
		filter = search.value.trim().toLowerCase();
		page = 0;
		render();
	});
	const toggle = h("button", { type: "button", class: "btn btn-primary", id: "open-toggle" }, "+ Open channel");
	toggle.addEventListener("click", () => { formBox.hidden = !formBox.hidden; });
	const closed = closedCard(store);
	const rebalanceToggle = h("button", { type: "button", class: "btn btn-ghost", id: "rebalance-toggle" }, "Rebalance");
	rebalanceToggle.addEventListener("click", () => {
		rebalance.options();
		rebalanceBox.hidden = !rebalanceBox.hidden;
	});
	fill(root, formBox, rebalanceBox, card("Channels", h("div", {}, summary, table), search, rebalanceToggle, toggle), closed.element);

	function render() {
		const all = store.data.channels;
		if (!all) return fill(table, empty("Loading…"));
		const capacity = all.reduce((s, c) => s + c.capacity_sat, 0);
		fill(summary,
			h("span", {}, h("b", {}, all.length.toLocaleString("en-US")), " channels"),
			h("span", {}, h("b", {}, all.filter((c) => c.is_usable).length.toLocaleString("en-US")), " active"),
			h("span", {}, h("b", {}, sat(capacity)), " capacity"));
		const shown = filter
			? all.filter((c) => `${c.counterparty_node_id} ${c.channel_id} ${c.short_channel_id ?? ""} ${c.state}`.toLowerCase().includes(filter))
			: all;
		const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
		page = Math.min(page, pages - 1);
		const rows = shown.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
		if (!rows.length) {
			return fill(table, empty(all.length ? "No channel matches the filter." : "No channels yet. Open one to start sending and receiving."));
		}
		fill(table,
			h("table", { class: "table" },
				h("thead", {}, h("tr", {},
					h("th", {}, "Peer"), h("th", {}, "State"), h("th", { class: "num" }, "Capacity"),
					h("th", { class: "bar-col" }, h("span", {}, "Can send"), h("span", {}, "Can receive")),
					h("th", {}, "Short id"), h("th", {}, "Fee"), h("th", {}, ""))),
				h("tbody", {}, rows.map((c) => h("tr", { dataset: { channel: c.channel_id }, class: "clickable", onclick: () => showDetail(c, store) },
					h("td", { class: "mono" }, short(c.counterparty_node_id)),
					h("td", {}, stateBadge(c)),
					h("td", { class: "num" }, sat(c.capacity_sat)),
					h("td", {}, balanceBar(c)),
					h("td", { class: "mono muted" }, c.short_channel_id ?? "—"),
					h("td", { class: "muted policy-fee" }, feeText(c.policy)),
					h("td", { class: "actions" },
						h("button", { type: "button", class: "btn btn-ghost btn-small", onclick: (e) => { e.stopPropagation(); close(c, false, store); } }, "Close"),
						h("button", { type: "button", class: "btn btn-danger-ghost btn-small", onclick: (e) => { e.stopPropagation(); close(c, true, store); } }, "Force")))))),
			pager({
				from: page * PAGE_SIZE + 1, count: rows.length, total: shown.length,
				hasPrev: page > 0, hasNext: page + 1 < pages,
				onPrev: () => { page--; render(); }, onNext: () => { page++; render(); },
			}));
	}

	render();
	const off = store.on("channels", () => {
		render();
		rebalance.options();
	});
	store.reload("channels");
	return { unmount: () => { off(); closed.unmount(); } };
}
