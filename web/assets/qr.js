// QR code encoder (ISO/IEC 18004), written for the fulgur dashboard.
//
// Alphanumeric mode when the text allows it (an uppercased BOLT11 invoice does: about 40%
// smaller than byte mode), byte mode (UTF-8) otherwise; error correction level M by default;
// versions 1 to 40. Output: a square matrix of booleans, or an SVG element.

// Error correction codewords per block and number of blocks, by version (index 0 unused).
// These two numbers fix the block structure: the codewords a version holds are split into
// that many blocks, the shorter ones first, differing by at most one data codeword.
const EC_TABLE = {
	L: {
		ecPerBlock: [0, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28,
			28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
		blocks: [0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8,
			8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25],
		formatBits: 1,
	},
	M: {
		ecPerBlock: [0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26,
			26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28],
		blocks: [0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16,
			17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49],
		formatBits: 0,
	},
};

// Alignment pattern centre coordinates (rows and columns alike), by version.
const ALIGNMENT = [[], [], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38], [6, 24, 42],
	[6, 26, 46], [6, 28, 50], [6, 30, 54], [6, 32, 58], [6, 34, 62], [6, 26, 46, 66],
	[6, 26, 48, 70], [6, 26, 50, 74], [6, 30, 54, 78], [6, 30, 56, 82], [6, 30, 58, 86],
	[6, 34, 62, 90], [6, 28, 50, 72, 94], [6, 26, 50, 74, 98], [6, 30, 54, 78, 102],
	[6, 28, 54, 80, 106], [6, 32, 58, 84, 110], [6, 30, 58, 86, 114], [6, 34, 62, 90, 118],
	[6, 26, 50, 74, 98, 122], [6, 30, 54, 78, 102, 126], [6, 26, 52, 78, 104, 130],
	[6, 30, 56, 82, 108, 134], [6, 34, 60, 86, 112, 138], [6, 30, 58, 86, 114, 142],
	[6, 34, 62, 90, 118, 146], [6, 30, 54, 78, 102, 126, 150], [6, 24, 50, 76, 102, 128, 154],
	[6, 28, 54, 80, 106, 132, 158], [6, 32, 58, 84, 110, 136, 162], [6, 26, 54, 82, 110, 138, 166],
	[6, 30, 58, 86, 114, 142, 170]];

const ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

// GF(256) with the field polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d).
const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
(() => {
	let x = 1;
	for (let i = 0; i < 255; i++) {
		EXP[i] = x;
		LOG[x] = i;
		x <<= 1;
		if (x & 0x100) x ^= 0x11d;
	}
	for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255];
})();

function gfMul(a, b) {
	return a === 0 || b === 0 ? 0 : EXP[LOG[a] + LOG[b]];
}

// Coefficients of (x - a^0)(x - a^1)...(x - a^(n-1)), highest degree first.
function generatorPoly(n) {
	let poly = [1];
	for (let i = 0; i < n; i++) {
		const next = new Array(poly.length + 1).fill(0);
		for (let j = 0; j < poly.length; j++) {
			next[j] ^= poly[j];
			next[j + 1] ^= gfMul(poly[j], EXP[i]);
		}
		poly = next;
	}
	return poly;
}

// Remainder of data(x) * x^n divided by the generator: the n error correction codewords.
function reedSolomon(data, n) {
	const gen = generatorPoly(n);
	const rem = new Array(n).fill(0);
	for (const byte of data) {
		const factor = byte ^ rem.shift();
		rem.push(0);
		for (let j = 0; j < n; j++) rem[j] ^= gfMul(gen[j + 1], factor);
	}
	return rem;
}

class Bits {
	constructor() { this.bits = []; }
	put(value, length) {
		for (let i = length - 1; i >= 0; i--) this.bits.push((value >>> i) & 1);
	}
}

// Mode, character count field width (versions 1-9, 10-26, 27-40) and the data bits.
function segment(text) {
	if ([...text].every((c) => ALPHANUMERIC.includes(c))) {
		const bits = new Bits();
		for (let i = 0; i + 1 < text.length; i += 2) {
			bits.put(ALPHANUMERIC.indexOf(text[i]) * 45 + ALPHANUMERIC.indexOf(text[i + 1]), 11);
		}
		if (text.length % 2) bits.put(ALPHANUMERIC.indexOf(text[text.length - 1]), 6);
		return { mode: 0b0010, countBits: [9, 11, 13], count: text.length, bits: bits.bits };
	}
	const bytes = new TextEncoder().encode(text);
	const bits = new Bits();
	for (const b of bytes) bits.put(b, 8);
	return { mode: 0b0100, countBits: [8, 16, 16], count: bytes.length, bits: bits.bits };
}

class Matrix {
	constructor(version) {
		this.version = version;
		this.size = version * 4 + 17;
		this.dark = Array.from({ length: this.size }, () => new Array(this.size).fill(false));
		this.reserved = Array.from({ length: this.size }, () => new Array(this.size).fill(false));
		this.drawFunctionPatterns();
	}

	set(row, col, dark) {
		this.dark[row][col] = dark;
		this.reserved[row][col] = true;
	}

	drawFunctionPatterns() {
		const n = this.size;
		for (let i = 0; i < n; i++) {
			this.set(6, i, i % 2 === 0);
			this.set(i, 6, i % 2 === 0);
		}
		this.drawFinder(3, 3);
		this.drawFinder(3, n - 4);
		this.drawFinder(n - 4, 3);
		const centres = ALIGNMENT[this.version];
		const last = centres.length - 1;
		for (let i = 0; i <= last; i++) {
			for (let j = 0; j <= last; j++) {
				const onFinder = (i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0);
				if (!onFinder) this.drawAlignment(centres[i], centres[j]);
			}
		}
		// Reserve the format areas now; their bits depend on the mask chosen later.
		this.drawFormat(0);
		this.drawVersion();
	}

	// A 7x7 finder centred on (row, col) with its light separator, clipped at the edges.
	drawFinder(row, col) {
		for (let dr = -4; dr <= 4; dr++) {
			for (let dc = -4; dc <= 4; dc++) {
				const r = row + dr;
				const c = col + dc;
				if (r < 0 || r >= this.size || c < 0 || c >= this.size) continue;
				const ring = Math.max(Math.abs(dr), Math.abs(dc));
				this.set(r, c, ring !== 2 && ring !== 4);
			}
		}
	}

	drawAlignment(row, col) {
		for (let dr = -2; dr <= 2; dr++) {
			for (let dc = -2; dc <= 2; dc++) {
				this.set(row + dr, col + dc, Math.max(Math.abs(dr), Math.abs(dc)) !== 1);
			}
		}
	}

	// 15 format bits: level and mask, BCH(15,5) protected, XORed with 101010000010010.
	drawFormat(bits15) {
		const n = this.size;
		const bit = (i) => ((bits15 >>> i) & 1) === 1;
		for (let i = 0; i <= 5; i++) this.set(i, 8, bit(i));
		this.set(7, 8, bit(6));
		this.set(8, 8, bit(7));
		this.set(8, 7, bit(8));
		for (let i = 9; i < 15; i++) this.set(8, 14 - i, bit(i));
		for (let i = 0; i < 8; i++) this.set(8, n - 1 - i, bit(i));
		for (let i = 8; i < 15; i++) this.set(n - 15 + i, 8, bit(i));
		this.set(n - 8, 8, true); // the dark module
	}

	// 18 version bits (versions 7 and up): version, BCH(18,6) protected, in two 6x3 blocks.
	drawVersion() {
		if (this.version < 7) return;
		let rem = this.version;
		for (let i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >>> 11) * 0x1f25);
		const bits = (this.version << 12) | rem;
		for (let i = 0; i < 18; i++) {
			const dark = ((bits >>> i) & 1) === 1;
			const a = this.size - 11 + (i % 3);
			const b = Math.floor(i / 3);
			this.set(a, b, dark);
			this.set(b, a, dark);
		}
	}

	freeModules() {
		let count = 0;
		for (const row of this.reserved) for (const r of row) if (!r) count++;
		return count;
	}

	// Codewords in the zigzag order: column pairs from the right, alternately up and down,
	// stepping over the vertical timing pattern.
	placeData(codewords) {
		const n = this.size;
		let i = 0;
		for (let right = n - 1; right >= 1; right -= 2) {
			if (right === 6) right = 5;
			const upward = ((right + 1) & 2) === 0;
			for (let v = 0; v < n; v++) {
				const row = upward ? n - 1 - v : v;
				for (let j = 0; j < 2; j++) {
					const col = right - j;
					if (this.reserved[row][col]) continue;
					if (i < codewords.length * 8) {
						this.dark[row][col] = ((codewords[i >>> 3] >>> (7 - (i & 7))) & 1) === 1;
						i++;
					}
				}
			}
		}
	}

	applyMask(mask) {
		const test = MASKS[mask];
		for (let r = 0; r < this.size; r++) {
			for (let c = 0; c < this.size; c++) {
				if (!this.reserved[r][c] && test(r, c)) this.dark[r][c] = !this.dark[r][c];
			}
		}
	}
}

const MASKS = [
	(r, c) => (r + c) % 2 === 0,
	(r) => r % 2 === 0,
	(r, c) => c % 3 === 0,
	(r, c) => (r + c) % 3 === 0,
	(r, c) => (Math.floor(r / 2) + Math.floor(c / 3)) % 2 === 0,
	(r, c) => ((r * c) % 2) + ((r * c) % 3) === 0,
	(r, c) => (((r * c) % 2) + ((r * c) % 3)) % 2 === 0,
	(r, c) => (((r + c) % 2) + ((r * c) % 3)) % 2 === 0,
];

function formatBits(level, mask) {
	const data = (EC_TABLE[level].formatBits << 3) | mask;
	let rem = data;
	for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
	return ((data << 10) | rem) ^ 0x5412;
}

// The penalty of ISO 18004 section 7.8.3: long runs, 2x2 blocks, finder-like patterns and
// dark/light imbalance. The encoder keeps the mask with the lowest score.
function penalty(dark) {
	const n = dark.length;
	let score = 0;
	const line = (get) => {
		let run = 1;
		for (let i = 1; i <= n; i++) {
			if (i < n && get(i) === get(i - 1)) {
				run++;
			} else {
				if (run >= 5) score += run - 2;
				run = 1;
			}
		}
		for (let i = 0; i + 11 <= n; i++) {
			const p = [];
			for (let k = 0; k < 11; k++) p.push(get(i + k) ? 1 : 0);
			const s = p.join("");
			if (s === "10111010000" || s === "00001011101") score += 40;
		}
	};
	for (let r = 0; r < n; r++) line((i) => dark[r][i]);
	for (let c = 0; c < n; c++) line((i) => dark[i][c]);
	let darkCount = 0;
	for (let r = 0; r < n; r++) {
		for (let c = 0; c < n; c++) {
			if (dark[r][c]) darkCount++;
			if (r + 1 < n && c + 1 < n) {
				const d = dark[r][c];
				if (dark[r][c + 1] === d && dark[r + 1][c] === d && dark[r + 1][c + 1] === d) score += 3;
			}
		}
	}
	score += Math.floor(Math.abs(darkCount * 20 - n * n * 10) / (n * n)) * 10;
	return score;
}

// Data codewords (mode, count, data, terminator, padding) split into blocks, each followed
// by its error correction, then interleaved.
function codewords(seg, version, level) {
	const table = EC_TABLE[level];
	const total = Math.floor(new Matrix(version).freeModules() / 8);
	const ecLen = table.ecPerBlock[version];
	const numBlocks = table.blocks[version];
	const dataCapacity = total - ecLen * numBlocks;
	const countBits = seg.countBits[version < 10 ? 0 : version < 27 ? 1 : 2];
	const needed = 4 + countBits + seg.bits.length;
	if (seg.count >= 1 << countBits || needed > dataCapacity * 8) return null;

	const bits = new Bits();
	bits.put(seg.mode, 4);
	bits.put(seg.count, countBits);
	bits.bits.push(...seg.bits);
	bits.put(0, Math.min(4, dataCapacity * 8 - bits.bits.length));
	bits.put(0, (8 - (bits.bits.length % 8)) % 8);
	const data = [];
	for (let i = 0; i < bits.bits.length; i += 8) {
		let byte = 0;
		for (let k = 0; k < 8; k++) byte = (byte << 1) | bits.bits[i + k];
		data.push(byte);
	}
	for (let pad = 0xec; data.length < dataCapacity; pad ^= 0xec ^ 0x11) data.push(pad);

	const shortBlockLen = Math.floor(total / numBlocks);
	const numShort = numBlocks - (total % numBlocks);
	const blocks = [];
	let offset = 0;
	for (let b = 0; b < numBlocks; b++) {
		const len = shortBlockLen - ecLen + (b < numShort ? 0 : 1);
		const blockData = data.slice(offset, offset + len);
		offset += len;
		blocks.push({ data: blockData, ec: reedSolomon(blockData, ecLen) });
	}
	const out = [];
	for (let i = 0; i <= shortBlockLen - ecLen; i++) {
		for (const block of blocks) if (i < block.data.length) out.push(block.data[i]);
	}
	for (let i = 0; i < ecLen; i++) for (const block of blocks) out.push(block.ec[i]);
	return out;
}

/** Encodes `text` in the smallest version that holds it; `null` when none does. */
export function encodeQr(text, level = "M") {
	const seg = segment(text);
	for (let version = 1; version <= 40; version++) {
		const words = codewords(seg, version, level);
		if (!words) continue;
		let best = null;
		for (let mask = 0; mask < 8; mask++) {
			const m = new Matrix(version);
			m.placeData(words);
			m.applyMask(mask);
			m.drawFormat(formatBits(level, mask));
			const score = penalty(m.dark);
			if (!best || score < best.score) best = { score, matrix: m };
		}
		return { version, size: best.matrix.size, modules: best.matrix.dark };
	}
	return null;
}

/** An SVG element of the QR code of `text` with a 4-module quiet zone, or `null`. */
export function qrSvg(text, level = "M") {
	const qr = encodeQr(text, level);
	if (!qr) return null;
	const ns = "http://www.w3.org/2000/svg";
	const full = qr.size + 8;
	const svg = document.createElementNS(ns, "svg");
	svg.setAttribute("viewBox", `0 0 ${full} ${full}`);
	svg.setAttribute("shape-rendering", "crispEdges");
	svg.setAttribute("class", "qr");
	svg.setAttribute("data-version", String(qr.version));
	const bg = document.createElementNS(ns, "rect");
	bg.setAttribute("width", String(full));
	bg.setAttribute("height", String(full));
	bg.setAttribute("fill", "#fff");
	svg.appendChild(bg);
	let d = "";
	qr.modules.forEach((row, r) => row.forEach((dark, c) => {
		if (dark) d += `M${c + 4} ${r + 4}h1v1h-1z`;
	}));
	const path = document.createElementNS(ns, "path");
	path.setAttribute("d", d);
	path.setAttribute("fill", "#000");
	svg.appendChild(path);
	return svg;
}
