// DOM building, formatting and the shared widgets: toasts, the detail drawer, the confirm
// dialog, pagers, badges, copy buttons. Text always goes in as text nodes, never as HTML.

/** `h("div", {class: "x", onclick: f, dataset: {id: 1}}, child, "text", ...)`. */
export function h(tag, props = {}, ...children) {
	const el = document.createElement(tag);
	for (const [key, value] of Object.entries(props ?? {})) {
		if (value === undefined || value === null || value === false) continue;
		if (key === "class") el.className = value;
		else if (key === "dataset") Object.assign(el.dataset, value);
		else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
		else if (key === "value") el.value = value;
		else el.setAttribute(key, value === true ? "" : String(value));
	}
	append(el, children);
	return el;
}

function append(el, children) {
	for (const child of children.flat()) {
		if (child === undefined || child === null || child === false) continue;
		el.append(child instanceof Node ? child : document.createTextNode(String(child)));
	}
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
	el.replaceChildren();
	append(el, children);
	return el;
}

const number = new Intl.NumberFormat("en-US");

/** `1,234,567 sat`. */
export function sat(value) {
	return value === null || value === undefined ? "—" : `${number.format(value)} sat`;
}

/** Millisatoshis shown in sat, with the msat fraction when there is one. */
export function msat(value) {
	if (value === null || value === undefined) return "—";
	const whole = Math.floor(value / 1000);
	const rest = value % 1000;
	return rest ? `${number.format(whole)}.${String(rest).padStart(3, "0")} sat` : sat(whole);
}

/** `0.0125 BTC`: at most `decimals` decimals, trailing zeros dropped (at least 2 kept). */
export function btc(satoshis, decimals = 8) {
	if (satoshis === null || satoshis === undefined) return "—";
	const text = (satoshis / 1e8).toFixed(decimals).replace(/(\.\d\d\d*?)0+$/, "$1");
	return `${text} BTC`;
}

/** A UNIX time as local date and time. */
export function time(unix) {
	if (!unix) return "—";
	return new Date(unix * 1000).toLocaleString("en-GB", {
		year: "numeric", month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit",
	});
}

/** `3 min ago`, `in 2 h`. */
export function relative(unix) {
	if (!unix) return "—";
	const diff = unix - Date.now() / 1000;
	const abs = Math.abs(diff);
	const [n, unit] = abs < 60 ? [abs, "s"] : abs < 3600 ? [abs / 60, "min"]
		: abs < 86400 ? [abs / 3600, "h"] : [abs / 86400, "d"];
	const text = `${Math.round(n)} ${unit}`;
	return diff < 0 ? `${text} ago` : `in ${text}`;
}

/** `02ab12cd…9f8e7d6c` for long hex ids. */
export function short(id, keep = 8) {
	if (!id) return "—";
	return id.length > keep * 2 + 1 ? `${id.slice(0, keep)}…${id.slice(-keep)}` : id;
}

/** A coloured status pill. */
export function badge(status, label = status) {
	return h("span", { class: `badge badge-${status}`, dataset: { status } }, label);
}

export function copyButton(text, label = "Copy") {
	const button = h("button", { type: "button", class: "btn btn-ghost btn-small" }, label);
	button.addEventListener("click", async (e) => {
		e.stopPropagation();
		try {
			await navigator.clipboard.writeText(text);
			toast("Copied to the clipboard");
		} catch {
			toast("The browser refused the clipboard; select the text instead", "error");
		}
	});
	return button;
}

export function empty(text) {
	return h("div", { class: "empty" }, text);
}

/** A short message in the corner. */
export function toast(message, kind = "info") {
	const box = document.getElementById("toasts");
	const el = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" }, message);
	box.append(el);
	setTimeout(() => el.remove(), kind === "error" ? 8000 : 4000);
}

/** Opens the side drawer with `title` and `content`. */
export function openDrawer(title, content) {
	const drawer = document.getElementById("drawer");
	fill(drawer.querySelector(".drawer-title"), title);
	fill(drawer.querySelector(".drawer-body"), content);
	drawer.hidden = false;
}

export function closeDrawer() {
	document.getElementById("drawer").hidden = true;
}

/** A modal asking to confirm; resolves to true or false. */
export function confirmDialog(title, message, action, danger = false) {
	return new Promise((resolve) => {
		const close = (answer) => {
			overlay.remove();
			resolve(answer);
		};
		const overlay = h("div", { class: "modal-overlay", onclick: (e) => e.target === overlay && close(false) },
			h("div", { class: "modal", role: "dialog", "aria-modal": "true" },
				h("h2", {}, title),
				h("p", {}, message),
				h("div", { class: "modal-actions" },
					h("button", { type: "button", class: "btn btn-ghost", onclick: () => close(false) }, "Cancel"),
					h("button", {
						type: "button", class: danger ? "btn btn-danger" : "btn btn-primary",
						onclick: () => close(true),
					}, action))));
		document.body.append(overlay);
	});
}

/** Key/value rows of a detail view; values may be nodes. */
export function detailList(rows) {
	return h("dl", { class: "details" }, rows.filter(Boolean).flatMap(([key, value, mono]) => [
		h("dt", {}, key),
		h("dd", { class: mono ? "mono" : undefined }, value ?? "—"),
	]));
}

/** `Showing 51–100 of 1,000` with previous / next buttons. */
export function pager({ from, count, total, hasPrev, hasNext, onPrev, onNext }) {
	const to = from + count - 1;
	const label = total === 0 ? "Nothing yet"
		: `Showing ${number.format(count ? from : 0)}–${number.format(count ? to : 0)} of ${number.format(total)}`;
	return h("div", { class: "pager" },
		h("span", { class: "muted" }, label),
		h("div", { class: "pager-buttons" },
			h("button", { type: "button", class: "btn btn-ghost btn-small", disabled: !hasPrev, onclick: onPrev }, "‹ Previous"),
			h("button", { type: "button", class: "btn btn-ghost btn-small", disabled: !hasNext, onclick: onNext }, "Next ›")));
}

/** A card with a header (title and optional actions) and a body. */
export function card(title, body, ...actions) {
	return h("section", { class: "card" },
		title ? h("header", { class: "card-header" }, h("h2", {}, title), h("div", { class: "card-actions" }, actions)) : null,
		h("div", { class: "card-body" }, body));
}

/** Disables a form's button while `work` runs; shows its error as a toast. */
export async function busy(button, work) {
	button.disabled = true;
	button.classList.add("loading");
	try {
		return await work();
	} catch (e) {
		toast(e.message || String(e), "error");
		return undefined;
	} finally {
		button.disabled = false;
		button.classList.remove("loading");
	}
}

/** Whole satoshis typed in a field as msat; `null` when blank, throws when invalid. */
export function parseSat(text, what) {
	const t = String(text).trim().replaceAll(",", "").replaceAll("_", "");
	if (t === "") return null;
	if (!/^\d+$/.test(t)) throw new Error(`${what}: whole satoshis, like 25000`);
	const value = Number(t);
	if (!Number.isSafeInteger(value * 1000)) throw new Error(`${what}: too large`);
	return value;
}
