import assert from "node:assert/strict";
import { ENGINES } from "../core/hw/engines.ts";
import { addVgpu, gvtRig, MiB } from "./gvt_util.ts";
import { FENCE_REG_GEN6_LO, GTT_OFFSET, RING_ELSP } from "../core/hw/regs.ts";
import { registerOffset } from "../core/hw/regdefs.ts";

const CACHE_MODE_1 = registerOffset("CACHE_MODE_1");
import {
  emitBatchBufferEnd,
  emitBatchBufferStart,
  emitClflush,
  emitConditionalBatchBufferEnd,
  emitLri,
  emitNoop,
  emitPipeControl,
  emitReportPerfCount,
  emitSemaphoreWait,
  emitStoreDataImm,
  emitStoreDataIndex,
  emitUpdateGtt,
  emitUserInterrupt,
} from "../core/cmd/encode.ts";
import { decode, header, ID } from "../core/cmd/table.ts";
import { cmdAddress } from "../core/cmd/fields.ts";
import { ScanResult } from "../core/gvt/scanner.ts";
import { VIOLATION_KINDS } from "../core/gvt/counters.ts";

const RING_GFN = 0x300, BB_GFN = 0x310, BB2_GFN = 0x311;

async function setup(host = {}) {
  const r = await gvtRig({ host });
  const v = addVgpu(r, { vm: "a", memory: 64 * MiB });
  const mem = r.mems.get(v.id)!;
  const base = v.res.aperture.base;
  const map = (gma: number, gfn: number) =>
    r.gvt.emulateMmioWrite(v.id, GTT_OFFSET + (gma / 4096) * 8, 8, gfn * 4096 + 3);
  map(base, RING_GFN);
  map(base + 0x4000, BB_GFN);
  map(base + 0x5000, BB2_GFN);
  const write = (gfn: number, dws: Uint32Array, n: number) =>
    mem.write(gfn * 4096, new Uint8Array(dws.buffer, 0, n * 4));
  const scan = (build: (o: Uint32Array) => number, bb?: (o: Uint32Array) => number) => {
    const out = new Uint32Array(1024);
    const n = build(out);
    write(RING_GFN, out, n);
    if (bb) {
      const b = new Uint32Array(1024);
      write(BB_GFN, b, bb(b));
    }
    const res = new ScanResult();
    r.gvt.scanner.scanRing(v, 0, null, base, 4096, 0, n * 4, res);
    return res;
  };
  return { r, v, mem, base, scan, write };
}

const kind = (res: ScanResult) => res.violation < 0 ? "ok" : VIOLATION_KINDS[res.violation];

Deno.test("scanner: a well-formed ring with a GGTT batch is accepted, shadowed and patched", async () => {
  const { r, v, base, scan } = await setup();
  const res = scan((o) => {
    let i = emitLri(o, 0, CACHE_MODE_1, 5);
    i = emitStoreDataImm(o, i, base + 0x40, 7, true);
    i = emitPipeControl(o, i, 0, base + 0x80, 1, true, false);
    i = emitBatchBufferStart(o, i, base + 0x4000, false);
    i = emitUserInterrupt(o, i);
    return emitNoop(o, i);
  }, (b) => {
    let i = emitLri(b, 0, CACHE_MODE_1, 9);
    i = emitStoreDataImm(b, i, base + 0x44, 8, true);
    return emitBatchBufferEnd(b, i);
  });
  assert.equal(kind(res), "ok", res.detail);
  assert.equal(v.counters.batchesShadowed, 1);
  assert.equal(res.userInterrupts, 1);
  assert.equal(res.batches.length, 1);
  const hg = r.gvt.hostGm;
  const ring = res.ring!;
  const at = 3 + 4 + 6; // LRI, SDI, PIPE_CONTROL
  assert.equal(hg.readDword(ring, at + 1), res.batches[0].gma, "start patched to the shadow copy");
  assert.equal(hg.readDword(ring, at + 3), header(ID.MI_NOOP, 1), "user interrupt patched out");
  assert.equal(decode(hg.readDword(res.batches[0], 0), 0), ID.MI_LOAD_REGISTER_IMM);
  assert.equal(v.counters.cmdsScanned[0], 6 + 3);
  assert.ok(res.costNs > 0);
  r.gvt.scanner.release(res);
  assert.equal(r.gvt.hostGm.inUse, 0);
});

Deno.test("scanner: each level of a nested chain is shadowed from its own copy, scan after scan", async () => {
  const { r, base, scan, write } = await setup();
  const hg = r.gvt.hostGm;
  for (const value of [11, 22]) {
    // BB2 first, so the first level's fetch and scan reuse buffers the second level also uses
    const bb2 = new Uint32Array(16);
    write(BB2_GFN, bb2, emitBatchBufferEnd(bb2, emitLri(bb2, 0, CACHE_MODE_1, value + 1)));
    const res = scan(
      (o) =>
        emitNoop(
          o,
          emitBatchBufferStart(o, emitLri(o, 0, CACHE_MODE_1, value), base + 0x4000, false),
        ),
      (b) => {
        const i = emitBatchBufferStart(
          b,
          emitLri(b, 0, CACHE_MODE_1, value + 2),
          base + 0x5000,
          false,
          true,
        );
        return emitBatchBufferEnd(b, emitLri(b, i, CACHE_MODE_1, value + 3));
      },
    );
    assert.equal(kind(res), "ok", res.detail);
    const [bb1, second] = res.batches;
    assert.equal(hg.readDword(res.ring!, 2), value, "the ring's own load");
    assert.equal(cmdAddress([hg.readDword(res.ring!, 4), hg.readDword(res.ring!, 5)], 0), bb1.gma);
    assert.equal(hg.readDword(bb1, 2), value + 2, "the first level's load");
    assert.equal(cmdAddress([hg.readDword(bb1, 4), hg.readDword(bb1, 5)], 0), second.gma);
    assert.equal(hg.readDword(bb1, 8), value + 3, "after the second level's start");
    assert.equal(hg.readDword(second, 2), value + 1, "the second level's load");
    r.gvt.scanner.release(res);
  }
});

Deno.test("scanner: always-rejected commands", async () => {
  const { base, scan } = await setup();
  const cases: [string, (o: Uint32Array) => number][] = [
    ["MI_UPDATE_GTT", (o) => emitUpdateGtt(o, 0, 0, 0, 1)],
    ["MI_SEMAPHORE_WAIT", (o) => emitSemaphoreWait(o, 0, base, 1)],
    ["MI_REPORT_PERF_COUNT", (o) => emitReportPerfCount(o, 0, base, 1)],
    ["MI_STORE_DATA_INDEX", (o) => emitStoreDataIndex(o, 0, 4, 1)],
    ["MI_CLFLUSH", (o) => emitClflush(o, 0, base)],
    ["MI_CONDITIONAL_BATCH_BUFFER_END", (o) => emitConditionalBatchBufferEnd(o, 0, base, 1)],
  ];
  for (const [name, f] of cases) {
    const res = scan((o) => {
      const n = f(o);
      return n & 1 ? emitNoop(o, n) : n;
    });
    assert.equal(kind(res), "rejected_command", name);
    assert.match(res.detail, new RegExp(name));
    assert.equal(res.ring, null, "shadow freed");
  }
});

Deno.test("scanner: register writes only to whitelisted registers", async () => {
  const { v, scan } = await setup();
  for (const reg of [ENGINES[0].mmioBase + RING_ELSP, FENCE_REG_GEN6_LO, 0x44200]) {
    const res = scan((o) => emitNoop(o, emitLri(o, 0, reg, 1)));
    assert.equal(kind(res), "register", reg.toString(16));
  }
  assert.equal(v.counters.violations[VIOLATION_KINDS.indexOf("register")], 3);
  assert.equal(
    kind(scan((o) => emitNoop(o, emitLri(o, 0, 0x7004, 0x10001)))),
    "ok",
    "CACHE_MODE_1",
  );
});

Deno.test("scanner: graphics addresses must lie in the vGPU's slices", async () => {
  const { v, base, scan } = await setup();
  const hostGma = 0x100000; // host aperture
  assert.equal(kind(scan((o) => emitStoreDataImm(o, 0, hostGma, 1, true))), "address");
  assert.equal(
    kind(scan((o) => emitNoop(o, emitPipeControl(o, 0, 0, hostGma, 1, true, false)))),
    "address",
  );
  assert.equal(
    kind(scan((o) => emitStoreDataImm(o, 0, hostGma, 1, false))),
    "ok",
    "PPGTT: isolated by the shadow",
  );
  assert.equal(
    kind(scan((o) => emitNoop(o, emitBatchBufferStart(o, 0, hostGma, false)))),
    "address",
  );
  assert.equal(kind(scan((o) => emitStoreDataImm(o, 0, v.res.hidden.base + 8, 1, true))), "ok");
  void base;
});

Deno.test("scanner: unknown commands, batch nesting, PPGTT batches only when enabled", async () => {
  const { base, scan, write } = await setup();
  assert.equal(kind(scan((o) => ((o[0] = 0xdeadbeef), (o[1] = 0), 2))), "unknown_command");
  const bb2 = new Uint32Array(16);
  write(BB2_GFN, bb2, emitBatchBufferEnd(bb2, emitLri(bb2, 0, CACHE_MODE_1, 1)));
  assert.equal(
    kind(scan((o) => emitNoop(o, emitBatchBufferStart(o, 0, base + 0x4000, false, true)))),
    "batch_depth",
    "second level from the ring",
  );
  const nested = scan(
    (o) => emitNoop(o, emitBatchBufferStart(o, 0, base + 0x4000, false)),
    (b) => emitBatchBufferEnd(b, emitBatchBufferStart(b, 0, base + 0x5000, false, true)),
  );
  assert.equal(kind(nested), "ok", "second level from a first-level batch");
  assert.equal(nested.batches.length, 2);
  const deep = scan(
    (o) => emitNoop(o, emitBatchBufferStart(o, 0, base + 0x4000, false)),
    (b) => emitBatchBufferEnd(b, emitBatchBufferStart(b, 0, base + 0x4000, false, true)),
  );
  assert.equal(kind(deep), "batch_depth", "no third level");
  const ppgtt = scan((o) => emitNoop(o, emitBatchBufferStart(o, 0, 0x1000, true)));
  assert.equal(kind(ppgtt), "ok");
  assert.equal(ppgtt.batches.length, 0, "PPGTT batch not followed by default");
});

Deno.test("scanner: slices above 2 GiB audit correctly (unsigned addresses)", async () => {
  const r = await gvtRig();
  addVgpu(r, { vm: "x" });
  addVgpu(r, { vm: "y" });
  const v = addVgpu(r, { vm: "z" });
  const hiGma = v.res.hidden.base + v.res.hidden.size - 4096;
  assert.ok(hiGma >= 0x8000_0000);
  const mem = r.mems.get(v.id)!;
  const base = v.res.aperture.base;
  r.gvt.emulateMmioWrite(v.id, GTT_OFFSET + (base / 4096) * 8, 8, RING_GFN * 4096 + 3);
  const o = new Uint32Array(16);
  const n = emitNoop(
    o,
    emitPipeControl(o, emitStoreDataImm(o, 0, hiGma, 1, true), 0, hiGma, 1, true, false),
  );
  mem.write(RING_GFN * 4096, new Uint8Array(o.buffer, 0, n * 4));
  const res = new ScanResult();
  r.gvt.scanner.scanRing(v, 0, null, base, 4096, 0, n * 4, res);
  assert.equal(kind(res), "ok", res.detail);
});
