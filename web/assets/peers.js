// Peers: connect (node_id@host:port), list, disconnect.

import { api } from "./api.js";
import { badge, busy, card, confirmDialog, empty, fill, h, short, toast } from "./ui.js";

function connectForm(store) {
	const peer = h("input", { id: "peer-uri", placeholder: "node_id@host:port", autocomplete: "off", spellcheck: "false" });
	const submit = h("button", { type: "submit", class: "btn btn-primary", id: "peer-connect" }, "Connect");
	const form = h("form", { class: "inline-form" }, peer, submit);
	form.addEventListener("submit", (e) => {
		e.preventDefault();
		busy(submit, async () => {
			const t = peer.value.trim();
			const at = t.indexOf("@");
			if (at < 0) throw new Error("Peer: node_id@host:port");
			await api("POST", "/v1/peers", { node_id: t.slice(0, at), address: t.slice(at + 1) });
			toast("Connected");
			form.reset();
			store.reload("peers", "info");
		});
	});
	return form;
}

async function disconnect(p, store) {
	const ok = await confirmDialog("Disconnect this peer?",
		`${short(p.node_id)} is disconnected and forgotten; channel peers reconnect on their own.`, "Disconnect", true);
	if (!ok) return;
	try {
		await api("DELETE", `/v1/peers/${encodeURIComponent(p.node_id)}`);
		toast("Disconnected");
		store.reload("peers", "info");
	} catch (e) {
		toast(e.message, "error");
	}
}

export function mount(root, { store }) {
	const list = h("div", { class: "table-wrap" });
	const render = () => {
		const peers = store.data.peers;
		const channels = store.data.channels ?? [];
		if (!peers) return fill(list, empty("Loading…"));
		if (!peers.length) return fill(list, empty("No peers yet."));
		fill(list, h("table", { class: "table", id: "peer-table" },
			h("thead", {}, h("tr", {}, h("th", {}, "Node id"), h("th", {}, "Address"), h("th", {}, "Connection"),
				h("th", { class: "num" }, "Channels"), h("th", {}, ""))),
			h("tbody", {}, peers.map((p) => h("tr", { dataset: { peer: p.node_id } },
				h("td", { class: "mono", title: p.node_id }, short(p.node_id, 12)),
				h("td", { class: "mono muted" }, p.address ?? "—"),
				h("td", {}, p.connected ? badge("connected") : badge("disconnected"), p.persisted ? h("span", { class: "muted small" }, " · kept") : null),
				h("td", { class: "num" }, String(channels.filter((c) => c.counterparty_node_id === p.node_id).length)),
				h("td", { class: "actions" }, h("button", { type: "button", class: "btn btn-ghost btn-small", onclick: () => disconnect(p, store) }, "Disconnect")))))));
	};
	fill(root, card("Connect to a peer", connectForm(store)), card("Peers", list));
	const offs = [store.on("peers", render), store.on("channels", render)];
	render();
	store.reload("peers", "channels");
	return { unmount: () => offs.forEach((off) => off()) };
}
