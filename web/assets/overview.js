// Overview: balances, fees earned today, capacity, the node's id with its QR code, chain state, recent events.

import { api } from "./api.js";
import { todayStart } from "./forwards.js";
import { qrSvg } from "./qr.js";
import { badge, btc, card, copyButton, detailList, empty, fill, h, msat, relative, sat, short } from "./ui.js";

/** One line per event kind for the activity feed. */
function describe(event) {
	const inv = event.invoice;
	const pay = event.payment;
	switch (event.type) {
		case "invoice_paid": return ["paid", `Invoice paid: ${msat(inv?.amount_received_msat ?? inv?.amount_msat)}`, inv?.description];
		case "invoice_accepted": return ["accepted", `Payment held: ${msat(inv?.amount_received_msat)}`, inv?.description];
		case "invoice_canceled": return ["canceled", inv?.status === "open" ? "Held payment failed back; invoice open again" : "Invoice canceled", inv?.description];
		case "invoice_expired": return ["expired", "Invoice expired", inv?.description];
		case "payment_received": return ["succeeded", `Received ${msat(pay?.amount_msat)}`, pay?.kind];
		case "payment_succeeded": return ["succeeded", `Sent ${msat(pay?.amount_msat)}`, pay?.description];
		case "payment_failed": return ["failed", "Payment failed", pay?.failure_reason];
		case "channel_pending": return ["pending", "Channel opening", short(event.counterparty_node_id)];
		case "channel_ready": return ["usable", "Channel ready", short(event.counterparty_node_id)];
		case "channel_closed": return ["closed", "Channel closed", event.reason];
		case "peer_connected": return ["connected", "Peer connected", short(event.node_id)];
		case "peer_disconnected": return ["disconnected", "Peer disconnected", short(event.node_id)];
		case "onchain_received": return ["succeeded", `On-chain: +${sat(event.amount_sat)}`, short(event.txid)];
		default: return ["info", (event.type ?? "event").replaceAll("_", " "), ""];
	}
}

function stat(label, value, sub, id) {
	return h("div", { class: "stat card" },
		h("div", { class: "stat-label" }, label),
		h("div", { class: "stat-value", id }, value),
		h("div", { class: "stat-sub" }, sub ?? ""));
}

export function mount(root, { store }) {
	const stats = h("div", { class: "stats" });
	const capacity = h("div");
	const node = h("div");
	const activity = h("div");
	fill(root,
		stats,
		h("div", { class: "grid-2" },
			card("Liquidity", capacity),
			card("Node", node)),
		card("Live activity", activity));

	let feesToday = null;
	const loadFeesToday = async () => {
		try {
			const summary = await api("GET", `/v1/forwards/summary?group_by=day&since=${todayStart()}`);
			feesToday = summary.totals;
		} catch {
			feesToday = null;
		}
		renderStats();
	};

	const renderStats = () => {
		const { balance: b, info, channels } = store.data;
		const usable = channels ? channels.filter((c) => c.is_usable).length : info?.num_usable_channels;
		fill(stats,
			stat("Can send", b ? msat(b.lightning_outbound_msat) : "…", "Lightning outbound", "stat-outbound"),
			stat("Can receive", b ? msat(b.lightning_inbound_msat) : "…", "Lightning inbound", "stat-inbound"),
			stat("On-chain", b ? (b.onchain_confirmed_sat >= 1e7 ? btc(b.onchain_confirmed_sat, 4) : sat(b.onchain_confirmed_sat)) : "…",
				b && b.onchain_confirmed_sat >= 1e7 ? sat(b.onchain_confirmed_sat) : "confirmed"),
			stat("Channels", info ? `${usable ?? 0} / ${info.num_channels}` : "…", "usable / all"),
			stat("Peers", info ? String(info.num_peers) : "…", "connected"),
			stat("Fees earned today", feesToday ? msat(feesToday.fees_msat) : "…",
				feesToday ? `${feesToday.count} forwards (UTC day)` : "forwarding", "stat-fees-today"));
	};

	const renderCapacity = () => {
		const { balance: b, channels } = store.data;
		if (!b) return fill(capacity, empty("Loading…"));
		const out = b.lightning_outbound_msat;
		const inb = b.lightning_inbound_msat;
		const total = out + inb;
		const share = total ? (out / total) * 100 : 0;
		const bar = h("div", { class: "balance-bar balance-bar-large" }, h("div", { class: "balance-local" }));
		bar.firstChild.style.width = `${share}%`;
		const totalCapacity = (channels ?? []).reduce((sum, c) => sum + c.capacity_sat, 0);
		fill(capacity,
			bar,
			h("div", { class: "bar-legend" },
				h("span", {}, h("i", { class: "dot dot-local" }), `Outbound ${msat(out)}`),
				h("span", {}, h("i", { class: "dot dot-remote" }), `Inbound ${msat(inb)}`)),
			detailList([
				["Total channel capacity", sat(totalCapacity)],
				["Claimable from closing channels", sat(b.lightning_claimable_sat)],
				["Claimable on-chain from closed channels", h("span", { id: "onchain-claimable" }, sat(b.onchain_claimable_sat ?? 0))],
				["On-chain unconfirmed", sat(b.onchain_unconfirmed_sat)],
			]));
	};

	const renderNode = () => {
		const info = store.data.info;
		if (!info) return fill(node, empty("Loading…"));
		const uri = info.listening_addresses?.length ? `${info.node_id}@${info.listening_addresses[0]}` : info.node_id;
		const qr = qrSvg(uri);
		fill(node, h("div", { class: "node-card" },
			h("div", { class: "qr-box qr-small", title: uri }, qr),
			h("div", { class: "node-meta" },
				h("div", { class: "label" }, "Node id"),
				h("div", { class: "mono break", id: "node-id" }, info.node_id),
				h("div", { class: "row-actions" }, copyButton(info.node_id, "Copy id"), copyButton(uri, "Copy URI")),
				detailList([
					["Network", h("span", { class: "badge badge-network" }, info.network)],
					["Chain", h("span", {}, `block ${info.block_height.toLocaleString("en-US")} `,
						info.synced ? badge("usable", "synced") : badge("pending", "syncing"))],
					["Listening on", info.listening_addresses?.join(", ") || "—"],
					["Network graph", `${info.graph_nodes} nodes, ${info.graph_channels} channels`],
				]))));
	};

	const renderActivity = () => {
		if (!store.events.length) {
			return fill(activity, empty("Events appear here as they happen."));
		}
		fill(activity, h("ul", { class: "feed", id: "activity" }, store.events.slice(0, 12).map((event) => {
			const [status, title, detail] = describe(event);
			return h("li", {},
				h("i", { class: `dot dot-${status}` }),
				h("span", { class: "feed-title" }, title),
				h("span", { class: "feed-detail muted" }, detail ?? ""),
				h("span", { class: "feed-time muted" }, relative(event.timestamp)));
		})));
	};

	renderStats();
	renderCapacity();
	renderNode();
	renderActivity();
	const subscriptions = [
		store.on("balance", () => { renderStats(); renderCapacity(); }),
		store.on("info", () => { renderStats(); renderNode(); }),
		store.on("channels", () => { renderStats(); renderCapacity(); }),
		store.on("event", renderActivity),
		store.on("forward", loadFeesToday),
	];
	loadFeesToday();
	store.reload("info", "balance", "channels");
	return { unmount: () => subscriptions.forEach((off) => off()) };
}
