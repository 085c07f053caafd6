// The stronger anchor for bench/holds.ts: js_heap_holds.mjs (the reference loop) rewritten for
// speed, same model and same heap order: the heap's swaps without destructuring, the popped pair
// written into one reused array instead of a new one per pop (about 1.4x the reference under deno).
// Still one generator per process. Runs under node or deno: K N on the command line; prints
// "... <x> Mev/s ...".
const args = globalThis.Deno ? Deno.args : process.argv.slice(2);
const K = Number(args[0] ?? 1000), N = Number(args[1] ?? 1000);
let state = 1;
const uniform = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 4294967296;
const time = new Float64Array(K + 1), seq = new Float64Array(K + 1), who = new Int32Array(K + 1);
let size = 0, nextSeq = 0;
const before = (a, b) => time[a] < time[b] || (time[a] === time[b] && seq[a] < seq[b]);
function swap(a, b) {
  const t = time[a], s = seq[a], w = who[a];
  time[a] = time[b], seq[a] = seq[b], who[a] = who[b];
  time[b] = t, seq[b] = s, who[b] = w;
}
function push(t, w) {
  let i = size++;
  time[i] = t, seq[i] = nextSeq++, who[i] = w;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(i, parent)) break;
    swap(i, parent);
    i = parent;
  }
}
function popInto(out) {
  out[0] = who[0], out[1] = time[0];
  if (--size === 0) return;
  time[0] = time[size], seq[0] = seq[size], who[0] = who[size];
  for (let i = 0;;) {
    const l = 2 * i + 1, r = l + 1;
    let m = i;
    if (l < size && before(l, m)) m = l;
    if (r < size && before(r, m)) m = r;
    if (m === i) break;
    swap(i, m);
    i = m;
  }
}
function* holder() {
  for (let i = 0; i < N; i++) yield -Math.log(1 - uniform());
}
const procs = [];
for (let k = 0; k < K; k++) procs.push(holder()), push(0, k);
const top = [0, 0];
let now = 0, events = 0;
const t0 = performance.now();
while (size > 0) {
  popInto(top);
  now = top[1];
  const step = procs[top[0]].next();
  if (!step.done) events++, push(now + step.value, top[0]);
}
const secs = (performance.now() - t0) / 1000;
console.log(
  `js-heap K=${K} N=${N} events=${events} ${(events / secs / 1e6).toFixed(3)} Mev/s ` +
    `(${secs.toFixed(2)}s) end=${now.toFixed(1)}`,
);
