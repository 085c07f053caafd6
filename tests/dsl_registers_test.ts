/**
 * Workloads name the registers their LRI / SRM / LRM / LRR touch and emit raw dwords, so a
 * scenario can express any command stream; what the platform's scanner makes of them shows
 * in the run.
 */
import assert from "node:assert/strict";
import { formatDiagnostics, parseScenarioText } from "../dsl/mod.ts";
import { World, WorldError } from "../core/world.ts";
import { collectResults } from "../core/metrics/collect.ts";
import { batchLength, buildBatch, emptyMix } from "../core/cmd/batch.ts";
import { decode, ID } from "../core/cmd/table.ts";

function scenario(gpu: string, batch: string): string {
  return `
host ${gpu} { scan_ppgtt on; hypervisor kvm; scheduler gvt { startup 0s } }
type t { aperture 128MiB; hidden 512MiB }
vm a { type t; run w }
workload w { repeat 3 { rcs batch { draw 2; ${batch} }; wait completion } }
timeline { run 200ms }
`;
}

function check(gpu: string, batch: string) {
  return parseScenarioText(scenario(gpu, batch), "t.gvt", { readFile: () => "" });
}

Deno.test("dsl: lri / srm / lrm / lrr name registers; dwords are raw", () => {
  const r = check(
    "skylake",
    "lri 2 CACHE_MODE_1 GEN9_GFX_MOCS(3); srm 1 0x21f0; lrm 1; lrr 1 0x215c 0x215c; dwords 0x0 0x11000001 0x229c 0",
  );
  assert.equal(formatDiagnostics(r.diagnostics, r.sources), "");
  const op = r.scenario!.workloads.w.body[0];
  assert.ok(op.op === "repeat" && op.body[0].op === "batch");
  const mix = op.body[0].op === "batch" ? op.body[0].mix : undefined;
  assert.deepEqual(mix?.lriRegs, [0x7004, 0xc80c]);
  assert.deepEqual(mix?.srmRegs, [0x21f0]);
  assert.equal(mix?.lrmRegs, undefined, "lrm without registers: the default");
  assert.deepEqual(mix?.lrrRegs, [0x215c, 0x215c]);
  assert.deepEqual(mix?.dwords, [0, 0x11000001, 0x229c, 0]);
});

Deno.test("dsl: bad registers and dwords are located errors with suggestions", () => {
  const msgs = (b: string) => check("skylake", b).diagnostics.map((d) => d.message);
  assert.match(
    msgs("lri 1 CACHE_MODE_9")[0],
    /unknown register 'CACHE_MODE_9'.*did you mean 'CACHE_MODE_0'/,
  );
  assert.match(msgs("lri 1 0x7002")[0], /is not a register/);
  assert.match(msgs("lrr 1 0x215c")[0], /lrr needs a count and two registers/);
  assert.match(msgs("dwords 0x1ffffffff")[0], /is not a dword/);
  assert.match(msgs("store 1 CACHE_MODE_1")[0], /'store' takes only a count/);
});

Deno.test("batch: named register operations and raw dwords are encoded, length exact", () => {
  const mix = {
    ...emptyMix(),
    lri: 1,
    srm: 1,
    lrr: 1,
    lriRegs: [0x7004],
    lrrRegs: [0x215c, 0x215c] as [number, number],
    dwords: [0],
  };
  const out = new Uint32Array(64);
  const n = buildBatch(
    mix,
    0,
    {
      storeAddr: () => 0x1000,
      storeValue: () => 0,
      ggtt: true,
      blitSrc: 0,
      blitDst: 0,
      blitPitch: 0,
      blitWidth: 0,
      blitHeight: 0,
    },
    out,
    0,
  );
  assert.equal(n, batchLength(mix, 0));
  assert.equal(decode(out[0], 0), ID.MI_LOAD_REGISTER_IMM);
  assert.equal(out[1], 0x7004);
  assert.equal(decode(out[3], 0), ID.MI_STORE_REGISTER_MEM);
  assert.equal(decode(out[7], 0), ID.MI_LOAD_REGISTER_REG);
  assert.equal(out[10], 0, "the raw dword");
  assert.equal(decode(out[11], 0), ID.MI_BATCH_BUFFER_END);
});

async function run(gpu: string, batch: string) {
  const p = check(gpu, batch);
  assert.ok(p.scenario, formatDiagnostics(p.diagnostics, p.sources));
  const w = await World.create(p.scenario);
  if (w instanceof WorldError) throw new Error(w.message);
  w.run();
  return { r: collectResults(w), w };
}

Deno.test("dsl + scanner: a MOCS load is fine on gen9 and fails safe on broadwell; an LRR runs only on broadwell", async () => {
  const mocs = "lri 1 GEN9_GFX_MOCS(0)";
  const skl = await run("skylake", mocs);
  assert.equal(skl.r.vms[0].state, "idle", "the workload ran to its end");
  assert.equal(skl.r.vms[0].completed, 3);
  const bdw = await run("broadwell", mocs);
  assert.equal(bdw.r.vms[0].state, "failsafe");
  assert.match(bdw.w.gvt.failsafeLog[0].detail, /not whitelisted on broadwell/);
  const lrr = "lrr 1 0x215c 0x215c";
  assert.equal((await run("broadwell", lrr)).r.vms[0].completed, 3);
  const k = await run("kabylake", lrr);
  assert.notEqual(k.r.vms[0].state, "failsafe", "-EPERM: no failsafe");
  assert.equal(k.r.vms[0].completed, 0, "the workload (and the engine's queue) failed");
  assert.ok((k.r.vms[0].counters["scan.violation.register_op"] ?? 0) >= 1);
});

Deno.test("dsl + scanner: srm only to L3SQCREG4 / 0x21f0 (cmd_reg_handler, -EPERM, no failsafe); raw MI_OP_2E dwords fail safe (cmd_handler_mi_op_2e)", async () => {
  assert.equal((await run("skylake", "srm 1 GEN8_L3SQCREG4")).r.vms[0].completed, 3);
  const srm = await run("skylake", "srm 1 CACHE_MODE_1");
  assert.notEqual(srm.r.vms[0].state, "failsafe", "-EPERM: no failsafe");
  assert.equal(srm.r.vms[0].completed, 0);
  assert.ok((srm.r.vms[0].counters["scan.violation.register_op"] ?? 0) >= 1);
  // MI_OP_2E (MI_MEM_TO_MEM), five dwords, written raw
  const m2m = await run("skylake", "dwords 0x17000003 0 0 0 0");
  assert.equal(m2m.r.vms[0].state, "failsafe");
  assert.match(m2m.w.gvt.failsafeLog[0].detail, /MI_OP_2E/);
});
