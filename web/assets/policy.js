// A channel's forwarding policy (shown and edited in its drawer) and the rebalance form:
// what a routing node changes day to day. Only the fees and the CLTV delta can be set; the
// HTLC limits are shown, not edited (LDK fixes them).

import { api } from "./api.js";
import { busy, detailList, h, msat, parseSat, short, toast } from "./ui.js";

/** `1,000 msat + 100 ppm`. */
export function feeText(policy) {
	if (!policy) return "—";
	return `${policy.fee_base_msat.toLocaleString("en-US")} msat + ${policy.fee_ppm.toLocaleString("en-US")} ppm`;
}

/** A whole number from a field, or null when it is empty. */
function wholeNumber(input, what, max) {
	const text = input.value.trim().replace(/[,_\s]/g, "");
	if (!text) return null;
	if (!/^\d+$/.test(text)) throw new Error(`${what}: a whole number`);
	const value = Number(text);
	if (value > max) throw new Error(`${what}: at most ${max.toLocaleString("en-US")}`);
	return value;
}

/** The policy rows and a form that changes them (the node refuses it to a non-admin key);
 * `saved` gets the new policy. */
export function policySection(c, saved) {
	const p = c.policy;
	const rows = detailList([
		["Fee", feeText(p)],
		["CLTV delta", p ? `${p.cltv_expiry_delta} blocks` : "—"],
		["Smallest HTLC", msat(p?.htlc_minimum_msat)],
		["Largest HTLC", msat(p?.htlc_maximum_msat)],
	]);
	const base = h("input", { id: "policy-base", inputmode: "numeric", value: p ? String(p.fee_base_msat) : "" });
	const ppm = h("input", { id: "policy-ppm", inputmode: "numeric", value: p ? String(p.fee_ppm) : "" });
	const cltv = h("input", { id: "policy-cltv", inputmode: "numeric", value: p ? String(p.cltv_expiry_delta) : "" });
	const submit = h("button", { type: "submit", class: "btn btn-primary", id: "policy-submit" }, "Save policy");
	const form = h("form", { class: "form-grid", id: "policy-form" },
		h("label", {}, "Base fee (msat)", base),
		h("label", {}, "Fee rate (ppm)", ppm),
		h("label", {}, "CLTV delta (blocks)", cltv),
		h("div", { class: "form-actions" }, submit));
	form.addEventListener("submit", (e) => {
		e.preventDefault();
		busy(submit, async () => {
			const change = {};
			const values = [
				["fee_base_msat", wholeNumber(base, "Base fee", 4294967295), p?.fee_base_msat],
				["fee_ppm", wholeNumber(ppm, "Fee rate", 1000000), p?.fee_ppm],
				["cltv_expiry_delta", wholeNumber(cltv, "CLTV delta", 2016), p?.cltv_expiry_delta],
			];
			for (const [key, value, current] of values) {
				if (value !== null && value !== current) change[key] = value;
			}
			if (!Object.keys(change).length) throw new Error("Nothing changed");
			const updated = await api("POST", `/v1/channels/${encodeURIComponent(c.channel_id)}/policy`, change);
			toast(`Policy saved: ${feeText(updated)}`);
			saved(updated);
		});
	});
	return h("div", { class: "policy", id: "channel-policy" }, h("h3", {}, "Forwarding policy"), rows, form);
}

/** The rebalance form: out of one channel, back into another, within a fee limit. */
export function rebalanceForm(store) {
	const choose = (id) => h("select", { id });
	const out = choose("rebalance-out");
	const into = choose("rebalance-in");
	const amount = h("input", { id: "rebalance-amount", inputmode: "numeric", placeholder: "50,000" });
	const maxFee = h("input", { id: "rebalance-max-fee", inputmode: "numeric", placeholder: "50" });
	const submit = h("button", { type: "submit", class: "btn btn-primary", id: "rebalance-submit" }, "Rebalance");
	const form = h("form", { class: "form-grid", id: "rebalance-form" },
		h("label", {}, "Out of (local balance goes down)", out),
		h("label", {}, "Into (local balance goes up)", into),
		h("label", {}, "Amount (sat)", amount),
		h("label", {}, "Max fee (sat)", maxFee),
		h("div", { class: "form-actions" }, submit));
	function options() {
		const channels = (store.data.channels ?? []).filter((c) => c.is_usable);
		for (const select of [out, into]) {
			const kept = select.value;
			select.replaceChildren(...channels.map((c) => h("option", { value: c.channel_id },
				`${short(c.counterparty_node_id)} · ${c.short_channel_id ?? short(c.channel_id)} · ${msat(c.local_balance_msat)}`)));
			if (channels.some((c) => c.channel_id === kept)) select.value = kept;
		}
	}
	form.addEventListener("submit", (e) => {
		e.preventDefault();
		busy(submit, async () => {
			if (!out.value || !into.value) throw new Error("Choose two usable channels");
			if (out.value === into.value) throw new Error("Choose two different channels");
			const amountSat = parseSat(amount.value, "Amount");
			if (!amountSat) throw new Error("Amount: how many satoshis to move");
			const maxFeeSat = parseSat(maxFee.value, "Max fee") ?? 0;
			const record = await api("POST", "/v1/rebalance", {
				out_channel_id: out.value, in_channel_id: into.value,
				amount_msat: amountSat * 1000, max_fee_msat: maxFeeSat * 1000,
			});
			toast(`Rebalanced ${msat(record.amount_msat)} for ${msat(record.fee_msat)}`);
			store.reload("channels", "balance", "payments");
		});
	});
	return { form, options };
}
