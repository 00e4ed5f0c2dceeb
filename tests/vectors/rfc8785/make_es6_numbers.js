// Writes numbers/es6-sample.csv: IEEE-754 doubles and how ECMAScript (V8) serialises them,
// which is what RFC 8785 section 3.2.2.3 prescribes. Deterministic (fixed PRNG seed).
// Run from this directory: node make_es6_numbers.js  (refuses to overwrite an existing file)
const fs = require("fs");
const out = "numbers/es6-sample.csv";
if (fs.existsSync(out)) { console.error(out + " exists; vectors are only ever added"); process.exit(1); }
let s = 0x2545f491n;  // xorshift64*
const next = () => { s ^= s >> 12n; s ^= (s << 25n) & 0xffffffffffffffffn; s ^= s >> 27n;
  return (s * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn; };
const dv = new DataView(new ArrayBuffer(8));
const rows = new Map();
const add = (bits) => {
  dv.setBigUint64(0, bits);
  const x = dv.getFloat64(0);
  if (Number.isFinite(x)) rows.set(bits.toString(16).padStart(16, "0"), String(x));
};
const addNum = (x) => { dv.setFloat64(0, x); add(dv.getBigUint64(0)); };
for (let e = -330; e <= 310; e++) for (const m of [1, 1.5, 2.5, 9.999999999999999, 5]) addNum(m * 10 ** e);
for (let e = -7; e <= 22; e++) for (const d of [-1, 1]) { dv.setFloat64(0, 10 ** e); add(dv.getBigUint64(0) + BigInt(d)); }
for (let i = -64; i <= 64; i++) { addNum(2 ** 53 + i); addNum(-(2 ** 53) + i); addNum(2 ** 63 + i * 2048); }
for (const x of [0.1, 0.2, 0.3, 0.1 + 0.2, 1 / 3, 2 / 3, Math.PI, Math.E, 123456789012345680000, 4.35, 0.000001, 1e-7, 1e21, 1e20, 5e-324, 2.2250738585072014e-308]) { addNum(x); addNum(-x); }
for (let i = 0; i < 3000; i++) add(next());
for (let i = 0; i < 500; i++) { dv.setFloat64(0, Number(next() % 100000000000000n) / 1000); add(dv.getBigUint64(0)); }
const lines = ["# IEEE-754 bits (hex), String(x) in V8 " + process.version + " (made by make_es6_numbers.js)", "ieee754_hex,expected"];
for (const [h, v] of rows) lines.push(h + "," + v);
fs.writeFileSync(out, lines.join("\n") + "\n");
console.log(rows.size + " numbers written to " + out);
