import assert from "node:assert/strict";
import * as enc from "../core/cmd/encode.ts";
import { CommandFault } from "../core/hw/fault.ts";
import { BCS, csGpr, RCS } from "../core/hw/regs.ts";
import { CTX_RING_HEAD, ctxValueOffset } from "../core/hw/context.ts";
import { Rng } from "../core/sim/rng.ts";
import { appendRing, makeContext, mapGgtt, smallGpu, submit, writeGgtt } from "./hw_util.ts";

const KINDS = new Set([
  "unknown_command",
  "bad_length",
  "bad_address",
  "isolation",
  "bb_nesting",
  "privilege",
  "bad_context",
  "bad_ring",
  "runaway",
]);

Deno.test("fuzz: random and hostile command streams never throw and never write another owner's page", () => {
  const { sim, gpu } = smallGpu();
  const VM = 2;
  const hostGma = 0x100000, vmGma = 0x200000, scratchGma = 0x300000, unmapped = 0x400000;
  const [hostMfn] = mapGgtt(gpu, hostGma, 1, 0);
  mapGgtt(gpu, vmGma, 2, VM);
  gpu.ggttWrite(scratchGma / 4096, gpu.memory.scratchMfn * 4096 + 3);
  for (let i = 0; i < 1024; i++) gpu.memory.write32(hostMfn * 4096 + 4 * i, 0x5a5a0000 + i);
  const ctxs = [RCS, BCS].map((e) =>
    makeContext(gpu, 0x10000 + e * 0x10000, 0x40000 + e * 0x10000, 4, 3, [0, 0, 0, 0], VM)
  );
  const rng = new Rng(99, "fuzz");
  const targets = [hostGma, vmGma, scratchGma, unmapped, vmGma + 0xff8];
  const pick = () => targets[rng.int(0, targets.length - 1)] + 8 * rng.int(0, 15);
  const out = new Uint32Array(256);
  for (let round = 0; round < 400; round++) {
    const e = round & 1, ctx = ctxs[e];
    let o = 0;
    for (let k = rng.int(1, 6); k > 0; k--) {
      switch (rng.int(0, 8)) {
        case 0:
          out[o++] = rng.nextU32();
          break;
        case 1:
          o = enc.emitStoreDataImm(out, o, pick(), rng.nextU32(), rng.next() < 0.5);
          break;
        case 2:
          o = e === RCS
            ? enc.emitPipeControl(out, o, 0, pick(), 1, true, true)
            : enc.emitFlushDw(out, o, pick(), 1, true, true);
          break;
        case 3:
          o = enc.emitStoreRegisterMem(out, o, csGpr(e, 0), pick(), true);
          break;
        case 4:
          o = e === BCS
            ? enc.emitXySrcCopyBlt(out, o, pick(), 64, 0, 0, 16, 4, pick(), 64, 0, 0)
            : enc.emitLri(out, o, rng.int(0, 0x7ffff) * 4, rng.nextU32());
          break;
        case 5:
          o = enc.emitUpdateGtt(out, o, (vmGma / 4096) * 8, hostMfn * 4096 + 3, 1);
          break;
        case 6:
          o = enc.emitBatchBufferStart(out, o, pick(), rng.next() < 0.3, rng.next() < 0.3);
          break;
        case 7:
          o = enc.emitStoreDataIndex(out, o, rng.int(0, 1023), 7);
          break;
        default:
          o = enc.emitNoop(out, o);
      }
    }
    if (o & 1) o = enc.emitNoop(out, o);
    appendRing(gpu, ctx, out.subarray(0, o));
    submit(gpu, e, [ctx.descLo, round]);
    sim.run();
    if (gpu.engineHung(e)) {
      gpu.resetEngine(e);
      writeGgtt(gpu, ctx.lrca + 4096 + ctxValueOffset(CTX_RING_HEAD), [ctx.tail]);
    }
  }
  for (let i = 0; i < 1024; i++) {
    assert.equal(gpu.memory.read32(hostMfn * 4096 + 4 * i), 0x5a5a0000 + i, `host dword ${i}`);
  }
  assert.ok(gpu.faults.length > 20);
  for (const f of gpu.faults) {
    assert.ok(f instanceof CommandFault);
    assert.ok(KINDS.has(f.kind), f.kind);
    assert.equal(f.owner, VM);
  }
  const kinds = new Set(gpu.faults.map((f) => f.kind));
  assert.ok(kinds.has("isolation") && kinds.has("unknown_command") && kinds.has("bad_address"));
});
