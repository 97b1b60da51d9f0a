// Payments: the pay form (a BOLT11 invoice or BOLT12 offer) and the list of payments sent
// and received, whose status follows the events.

import { api } from "./api.js";
import { CursorPages } from "./paging.js";
import {
	badge, busy, card, copyButton, detailList, empty, fill, h, msat, openDrawer, pager, parseSat,
	relative, short, time, toast,
} from "./ui.js";

const PAGE_SIZE = 25;

function showDetail(p) {
	openDrawer("Payment", h("div", {},
		detailList([
			["Status", badge(p.status)],
			["Direction", p.direction === "outbound" ? "sent" : "received"],
			["Kind", p.kind],
			["Amount", msat(p.amount_msat)],
			["Fee", msat(p.fee_msat)],
			["Fee limit", msat(p.max_fee_msat)],
			["Description", p.description || "—"],
			["Failure", p.failure_reason],
			["Destination", p.destination, true],
			["Started", time(p.created_at)],
			["Completed", time(p.completed_at)],
			["Payment id", p.payment_id, true],
			["Payment hash", p.payment_hash, true],
			["Preimage", p.preimage, true],
			["Invoice", p.invoice ? h("span", { class: "bolt11" }, p.invoice) : null, true],
		]),
		p.preimage ? h("div", { class: "row-actions" }, copyButton(p.preimage, "Copy preimage")) : null));
}

function payForm(onStarted) {
	const invoice = h("textarea", { id: "pay-invoice", rows: 3, placeholder: "lnbc… invoice or lno… offer", spellcheck: "false" });
	const amount = h("input", { id: "pay-amount", inputmode: "numeric", placeholder: "only for invoices without an amount" });
	const maxFee = h("input", { id: "pay-max-fee", inputmode: "numeric", placeholder: "node default" });
	const submit = h("button", { type: "submit", class: "btn btn-primary", id: "pay-submit" }, "Pay");
	const form = h("form", { class: "form-grid" },
		h("label", { class: "span-2" }, "Invoice or offer", invoice),
		h("label", {}, "Amount (sat)", amount),
		h("label", {}, "Max fee (sat)", maxFee),
		h("div", { class: "form-actions" }, submit));
	form.addEventListener("submit", (e) => {
		e.preventDefault();
		busy(submit, async () => {
			const text = invoice.value.trim();
			if (!text) throw new Error("Paste an invoice or an offer");
			const body = { invoice: text, wait: false };
			const amountSat = parseSat(amount.value, "Amount");
			const feeSat = parseSat(maxFee.value, "Max fee");
			if (amountSat !== null) body.amount_msat = amountSat * 1000;
			if (feeSat !== null) body.max_fee_msat = feeSat * 1000;
			try {
				const payment = await api("POST", "/v1/payments", body);
				toast(payment.status === "succeeded" ? "Payment sent" : "Payment started");
			} catch (err) {
				if (err.code !== "payment_failed") throw err;
				toast(`Payment failed: ${err.message}`, "error");
			}
			form.reset();
			onStarted();
		});
	});
	return form;
}

export function mount(root, { store }) {
	const pages = new CursorPages("/v1/payments", "payments", "payment_id", PAGE_SIZE);
	const list = h("div", { class: "table-wrap", id: "payment-list" });
	const report = (e) => toast(e.message, "error");
	const reload = () => pages.load().then(render, report);

	function render() {
		if (!pages.items) return fill(list, empty("Loading…"));
		if (!pages.items.length) return fill(list, empty("No payments yet."));
		fill(list,
			h("table", { class: "table", id: "payment-table" },
				h("thead", {}, h("tr", {},
					h("th", {}, "Started"), h("th", {}, ""), h("th", {}, "Description / peer"),
					h("th", { class: "num" }, "Amount"), h("th", { class: "num" }, "Fee"), h("th", {}, "Status"))),
				h("tbody", {}, pages.items.map((p) => h("tr", { class: "clickable", dataset: { payment: p.payment_id }, onclick: () => showDetail(p) },
					h("td", { class: "muted", title: time(p.created_at) }, relative(p.created_at)),
					h("td", {}, h("span", { class: `direction direction-${p.direction}` }, p.direction === "outbound" ? "↑ sent" : "↓ received")),
					h("td", { class: "ellipsis" }, p.description || (p.destination ? h("span", { class: "mono" }, short(p.destination)) : p.kind)),
					h("td", { class: "num" }, msat(p.amount_msat)),
					h("td", { class: "num muted" }, msat(p.fee_msat)),
					h("td", { dataset: { field: "status" }, title: p.failure_reason ?? "" }, badge(p.status)))))),
			pager({
				from: pages.from, count: pages.items.length, total: pages.total, hasPrev: pages.hasPrev, hasNext: pages.hasNext,
				onPrev: () => pages.prevPage().then(render, report), onNext: () => pages.nextPage().then(render, report),
			}));
	}

	fill(root,
		card("Pay", payForm(() => pages.firstPage().then(render, report))),
		card("Payments", list));
	const offs = [
		store.on("payment", (p) => {
			if (!p) return;
			if (pages.upsert(p)) render();
			else if (!pages.hasPrev) reload();
		}),
		store.on("poll", reload),
	];
	render();
	reload();
	return { unmount: () => offs.forEach((off) => off()) };
}
