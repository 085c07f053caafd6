// deno-fmt-ignore-file
// deno-lint-ignore-file
// Anchor for bench/holds.ts, the one issue 15's criterion ("the kernel reaches >= 2x the plain
// JS heap loop under the same runtime") was measured against: the holds model (K processes, each
// holding N times for an exponential delay; same model as simpy2_holds.py) on a plain binary heap
// of (time, seq) keys in typed arrays with one generator per process. A straightforward loop, not
// a ceiling (it allocates a pair per pop and a result per generator step). Kept as written, so
// the criterion stays comparable: not formatted, not linted, not tuned.
// js_heap_typed_holds.mjs is our faster rewrite of it. Usage: node|deno js_heap_holds.mjs K N
const [K, N] = (globalThis.Deno ? Deno.args : process.argv.slice(2)).map(Number);
let seed = 1; const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
const cap = K + 1; const t = new Float64Array(cap), id = new Int32Array(cap), sq = new Float64Array(cap);
let n = 0, seq = 0;
const less = (a, b) => t[a] < t[b] || (t[a] === t[b] && sq[a] < sq[b]);
function swap(a, b) { [t[a], t[b]] = [t[b], t[a]]; [id[a], id[b]] = [id[b], id[a]]; [sq[a], sq[b]] = [sq[b], sq[a]]; }
function push(time, who) { let i = n++; t[i] = time; id[i] = who; sq[i] = seq++; while (i > 0) { const p = (i - 1) >> 1; if (!less(i, p)) break; swap(i, p); i = p; } }
function pop() { const who = id[0], time = t[0]; n--; if (n > 0) { t[0] = t[n]; id[0] = id[n]; sq[0] = sq[n]; let i = 0; for (;;) { const l = 2 * i + 1, r = l + 1; let m = i; if (l < n && less(l, m)) m = l; if (r < n && less(r, m)) m = r; if (m === i) break; swap(i, m); i = m; } } return [who, time]; }
function* proc() { for (let i = 0; i < N; i++) yield -Math.log(1 - rnd()); }
const gens = []; for (let k = 0; k < K; k++) { gens.push(proc()); push(0, k); }
const t0 = performance.now(); let now = 0, events = 0;
while (n > 0) { const [who, time] = pop(); now = time; const r = gens[who].next(); if (!r.done) { events++; push(now + r.value, who); } }
const dt = (performance.now() - t0) / 1000;
console.log(`js-heap K=${K} N=${N} events=${events} ${(events / dt / 1e6).toFixed(3)} Mev/s (${dt.toFixed(2)}s) end=${now.toFixed(1)}`);
