// Invoices: the create form (the answer shows the BOLT11 string and its QR code) and the
// list, newest first, whose rows turn paid or expired as the events arrive.

import { api } from "./api.js";
import { CursorPages } from "./paging.js";
import { qrSvg } from "./qr.js";
import {
	badge, busy, card, copyButton, detailList, empty, fill, h, msat, openDrawer, pager, parseSat,
	relative, time, toast,
} from "./ui.js";

const PAGE_SIZE = 25;

/** The QR code of an invoice: uppercased, a BOLT11 string fits alphanumeric mode. */
export function invoiceQr(bolt11) {
	return qrSvg(bolt11.toUpperCase()) ?? qrSvg(bolt11, "L") ?? empty("Too long for a QR code");
}

function amountOf(inv) {
	if (inv.amount_received_msat != null) return msat(inv.amount_received_msat);
	return inv.amount_msat == null ? "any amount" : msat(inv.amount_msat);
}

function showDetail(inv) {
	openDrawer("Invoice", h("div", {},
		inv.status === "open" ? h("div", { class: "qr-box" }, invoiceQr(inv.bolt11)) : null,
		detailList([
			["Status", badge(inv.status)],
			["Description", inv.description || "—"],
			["Amount", inv.amount_msat == null ? "any amount" : msat(inv.amount_msat)],
			["Received", msat(inv.amount_received_msat)],
			["Created", time(inv.created_at)],
			["Expires", `${time(inv.expires_at)} (${relative(inv.expires_at)})`],
			["Paid", time(inv.paid_at)],
			["Payment hash", inv.payment_hash, true],
			["Preimage", inv.preimage, true],
			["Invoice", h("span", { class: "bolt11" }, inv.bolt11), true],
		]),
		h("div", { class: "row-actions" }, copyButton(inv.bolt11, "Copy invoice"))));
}

function createForm(onCreated) {
	const amount = h("input", { id: "invoice-amount", inputmode: "numeric", placeholder: "blank for any amount" });
	const description = h("input", { id: "invoice-description", placeholder: "What it is for", maxlength: 639 });
	const expiry = h("select", { id: "invoice-expiry" },
		h("option", { value: "" }, "node default"),
		h("option", { value: "600" }, "10 minutes"),
		h("option", { value: "3600" }, "1 hour"),
		h("option", { value: "86400" }, "1 day"),
		h("option", { value: "604800" }, "1 week"));
	const submit = h("button", { type: "submit", class: "btn btn-primary", id: "invoice-create" }, "Create invoice");
	const form = h("form", { class: "form-grid" },
		h("label", {}, "Amount (sat)", amount),
		h("label", {}, "Expires after", expiry),
		h("label", { class: "span-2" }, "Description", description),
		h("div", { class: "form-actions" }, submit));
	form.addEventListener("submit", (e) => {
		e.preventDefault();
		busy(submit, async () => {
			const amountSat = parseSat(amount.value, "Amount");
			const body = { description: description.value.trim() };
			if (amountSat !== null) body.amount_msat = amountSat * 1000;
			if (expiry.value) body.expiry_secs = Number(expiry.value);
			const invoice = await api("POST", "/v1/invoices", body);
			form.reset();
			onCreated(invoice);
		});
	});
	return form;
}

export function mount(root, { store }) {
	const pages = new CursorPages("/v1/invoices", "invoices", "payment_hash", PAGE_SIZE);
	const result = h("div", { id: "invoice-result", class: "invoice-result", hidden: true });
	const list = h("div", { class: "table-wrap", id: "invoice-list" });
	const placeholder = h("div", { class: "muted" }, "The invoice and its QR code appear here.");
	let shown = null;

	const renderResult = () => {
		if (!shown) return;
		result.hidden = false;
		placeholder.hidden = true;
		fill(result,
			h("div", { class: "qr-box", id: "invoice-qr" }, shown.status === "open" ? invoiceQr(shown.bolt11) : h("div", { class: "qr-done" }, shown.status === "paid" ? "✓" : shown.status === "accepted" ? "…" : "✕")),
			h("div", { class: "invoice-text" },
				h("div", { class: "invoice-head" }, h("b", {}, amountOf(shown)), h("span", { id: "invoice-status" }, badge(shown.status))),
				h("div", { class: "muted" }, shown.description || "no description"),
				h("div", { class: "mono bolt11", id: "invoice-bolt11", dataset: { hash: shown.payment_hash } }, shown.bolt11),
				h("div", { class: "row-actions" }, copyButton(shown.bolt11, "Copy invoice"),
					h("span", { class: "muted" }, `expires ${relative(shown.expires_at)}`))));
	};

	const renderList = () => {
		if (!pages.items) return fill(list, empty("Loading…"));
		if (!pages.items.length) return fill(list, empty("No invoices yet."));
		fill(list,
			h("table", { class: "table", id: "invoice-table" },
				h("thead", {}, h("tr", {},
					h("th", {}, "Created"), h("th", {}, "Description"), h("th", { class: "num" }, "Amount"),
					h("th", {}, "Status"), h("th", {}, "Expires / paid"))),
				h("tbody", {}, pages.items.map((inv) => h("tr", { class: "clickable", dataset: { hash: inv.payment_hash }, onclick: () => showDetail(inv) },
					h("td", { class: "muted", title: time(inv.created_at) }, relative(inv.created_at)),
					h("td", { class: "ellipsis" }, inv.description || "—"),
					h("td", { class: "num" }, amountOf(inv)),
					h("td", { dataset: { field: "status" } }, badge(inv.status)),
					h("td", { class: "muted" }, inv.status === "paid" ? time(inv.paid_at) : relative(inv.expires_at)))))),
			pager({
				from: pages.from, count: pages.items.length, total: pages.total, hasPrev: pages.hasPrev, hasNext: pages.hasNext,
				onPrev: () => pages.prevPage().then(renderList, report), onNext: () => pages.nextPage().then(renderList, report),
			}));
	};
	const report = (e) => toast(e.message, "error");
	const reload = () => pages.load().then(renderList, report);

	fill(root,
		h("div", { class: "grid-2 grid-wide-left" },
			card("Create an invoice", createForm((invoice) => {
				shown = invoice;
				renderResult();
				toast("Invoice created");
				pages.firstPage().then(renderList, report);
			})),
			card("Last invoice", h("div", {}, result, placeholder))),
		card("Invoices", list));

	const offs = [
		store.on("invoice", (inv) => {
			if (!inv) return;
			if (shown?.payment_hash === inv.payment_hash) {
				shown = inv;
				renderResult();
			}
			if (pages.upsert(inv)) renderList();
			else if (!pages.hasPrev) reload();
		}),
		store.on("poll", () => {
			reload();
			if (shown) api("GET", `/v1/invoices/${shown.payment_hash}`).then((inv) => { shown = inv; renderResult(); }, () => {});
		}),
	];
	renderList();
	reload();
	return { unmount: () => offs.forEach((off) => off()) };
}
