// Cursor paging of the API's list endpoints (`?limit=&cursor=` → `{<items>, total,
// next_cursor}`), newest first. The cursors of the pages seen are kept to go back.

import { api, pageQuery } from "./api.js";

export class CursorPages {
	constructor(path, field, idField, limit) {
		this.path = path;
		this.field = field;
		this.idField = idField;
		this.limit = limit;
		this.cursors = [null];
		this.index = 0;
		this.items = null;
		this.total = 0;
		this.next = null;
		this.loading = null;
		/** Filters sent with every page (`{status: "failed"}`); change them, then `firstPage()`. */
		this.params = {};
	}

	/** (Re)loads the current page; concurrent calls share one request. */
	load() {
		if (!this.loading) {
			this.loading = (async () => {
				try {
					const res = await api("GET", this.path + pageQuery(this.limit, this.cursors[this.index], this.params));
					this.items = res[this.field];
					this.total = res.total;
					this.next = res.next_cursor;
				} finally {
					this.loading = null;
				}
			})();
		}
		return this.loading;
	}

	get from() {
		return this.index * this.limit + 1;
	}

	get hasPrev() {
		return this.index > 0;
	}

	get hasNext() {
		return Boolean(this.next);
	}

	async nextPage() {
		if (!this.next) return;
		this.cursors[this.index + 1] = this.next;
		this.index++;
		await this.load();
	}

	async prevPage() {
		if (this.index === 0) return;
		this.index--;
		await this.load();
	}

	async firstPage() {
		this.index = 0;
		this.cursors = [null];
		await this.load();
	}

	/** Replaces the item with the same id on this page; false when it is not here. */
	upsert(record) {
		const i = this.items?.findIndex((x) => x[this.idField] === record[this.idField]) ?? -1;
		if (i < 0) return false;
		this.items[i] = record;
		return true;
	}
}
