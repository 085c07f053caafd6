/**
 * What the REPL shows of a world: VMs, a vGPU, registers, GGTT and PPGTT shadows, workload
 * queues, the scheduler, counters and the trace. Every function only reads the world, so
 * inspecting never changes what the simulation does next.
 * @module
 */

import { ENGINES } from "../core/hw/engines.ts";
import type { VmRuntime, World } from "../core/world.ts";
import { ENGINE_NAMES } from "../core/scenario.ts";
import type { RegDef } from "../core/hw/regdefs.ts";
import { REG_CMD_ACCESS, REG_GMADR, REG_MASKED, REG_RO, REG_W1C } from "../core/hw/regdefs.ts";
import { MMIO_SIZE } from "../core/hw/regs.ts";
import { OWNER_FREE, OWNER_HOST, OWNER_SCRATCH, PAGE_SIZE } from "../core/hw/memory.ts";
import { globalCounterRecord, vgpuCounterRecord } from "../core/gvt/counters.ts";
import { pteFrame } from "../core/hw/pte.ts";
import type { Vgpu } from "../core/gvt/vgpu_state.ts";
import type { TraceRecord } from "../core/metrics/trace.ts";
import { threadName } from "./trace.ts";
import { formatBytes, formatPct, formatTime, table } from "./table.ts";

/** A user-facing error: printed as one line. */
export class ReplError extends Error {}

const hex = (n: number, w = 8) => "0x" + Math.floor(n).toString(16).padStart(w, "0");
const WL_STATES = ["queued", "preparing", "running", "done", "dropped"];

/** The VM called `name`, or a {@link ReplError} naming the VMs there are. */
export function vmByName(w: World, name: string | undefined): VmRuntime {
  if (!name) throw new ReplError(`name a VM (${w.vms.map((v) => v.spec.name).join(", ")})`);
  const vm = w.vm(name);
  if (!vm) {
    throw new ReplError(`no VM named '${name}' (VMs: ${w.vms.map((v) => v.spec.name).join(", ")})`);
  }
  return vm;
}

/** The vGPU of a VM, or a {@link ReplError} when it has none. */
export function vgpuOf(w: World, name: string | undefined): Vgpu {
  const vm = vmByName(w, name);
  if (!vm.vgpu || vm.vgpu.destroyed) {
    throw new ReplError(`VM ${vm.spec.name} has no vGPU (state ${w.stateOf(vm)})`);
  }
  return vm.vgpu;
}

/** Parses a number: decimal, 0x hex, with optional _ separators. */
export function parseNumber(s: string | undefined, what: string): number {
  if (s === undefined) throw new ReplError(`missing ${what}`);
  const t = s.replaceAll("_", "");
  const n = /^0x[0-9a-f]+$/i.test(t)
    ? parseInt(t.slice(2), 16)
    : /^[0-9]+$/.test(t)
    ? Number(t)
    : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new ReplError(`${what} '${s}' is not a number (decimal or 0x hex)`);
  }
  return n;
}

/** A register by name (case-insensitive) or BAR0 offset. */
export function findRegister(w: World, s: string | undefined): { offset: number; def?: RegDef } {
  if (s === undefined) {
    throw new ReplError("missing register (a name such as RCS_RING_TAIL, or an offset)");
  }
  const up = s.toUpperCase();
  const def = w.gpu.registerDefs.find((d) => d.name.toUpperCase() === up);
  if (def) return { offset: def.offset, def };
  if (!/^(0x)?[0-9a-f_]+$/i.test(s)) {
    // RING_MODE alone is ambiguous (one per engine): list the names that contain it
    const near = w.gpu.registerDefs.filter((d) => d.name.toUpperCase().includes(up)).map((d) =>
      d.name
    );
    if (near.length === 1) return findRegister(w, near[0]);
    throw new ReplError(
      `no register named '${s}'${
        near.length
          ? `; did you mean ${near.slice(0, 6).join(", ")}${near.length > 6 ? ", ..." : ""}?`
          : ""
      }`,
    );
  }
  const offset = parseNumber(s, "register offset");
  if (offset % 4 !== 0 || offset < 0 || offset >= MMIO_SIZE) {
    throw new ReplError(
      `register offset ${hex(offset, 5)} must be 4-byte aligned and below ${hex(MMIO_SIZE, 6)}`,
    );
  }
  return { offset, def: w.gpu.regDef(offset) };
}

function flagNames(f: number): string {
  const n: string[] = [];
  if (f & REG_RO) n.push("read-only");
  if (f & REG_MASKED) n.push("masked");
  if (f & REG_W1C) n.push("write-1-to-clear");
  if (f & REG_CMD_ACCESS) n.push("cmd-access");
  if (f & REG_GMADR) n.push("graphics-address");
  return n.length ? n.join(", ") : "plain";
}

function ownerName(w: World, owner: number): string {
  if (owner === OWNER_HOST) return "host";
  if (owner === OWNER_SCRATCH) return "scratch";
  if (owner === OWNER_FREE) return "free";
  if (owner < 0) return "out of range";
  return w.vms[owner - 1]?.spec.name ?? `owner ${owner}`;
}

/** `vms` (with the host column when the scenario has several hosts: vGPU ids are per host). */
export function showVms(w: World): string {
  const hosts = w.scenario.hosts !== undefined;
  const rows = w.vms.map((vm) => {
    const v = vm.vgpu, m = vm.driver?.metrics;
    return [
      vm.spec.name,
      ...(hosts ? [vm.host.name] : []),
      w.stateOf(vm),
      vm.spec.type,
      v && !v.destroyed ? String(v.id) : "-",
      String(v?.sched.weight ?? vm.spec.weight ?? "-"),
      String(m?.frames ?? 0),
      String(m ? m.completed.reduce((a, b) => a + b, 0) : 0),
      String(m?.irqs ?? 0),
    ];
  });
  const head = ["state", "type", "vgpu", "weight", "frames", "batches", "irqs"];
  return table(["vm", ...(hosts ? ["host"] : []), ...head], rows);
}

/** `vm <name>`. */
export function showVm(w: World, name: string | undefined): string {
  const vm = vmByName(w, name);
  const v = vm.vgpu;
  const head =
    `${vm.spec.name}: ${w.stateOf(vm)}, type ${vm.spec.type}, ${vm.spec.vcpus} vCPU(s), ${
      formatBytes(vm.spec.memory)
    } RAM, ` +
    `workload ${vm.spec.workload}`;
  if (!v || v.destroyed) return `${head}\n  no vGPU${vm.reason ? `: ${vm.reason}` : ""}`;
  const c = v.counters;
  const lines = [
    head,
    `  vGPU ${v.id} (owner tag ${v.owner}), BAR0 ${hex(v.bar0, 8)}, BAR2 ${hex(v.bar2, 10)}`,
    `  aperture ${hex(v.res.aperture.base)} +${formatBytes(v.res.aperture.size)}, hidden ${
      hex(v.res.hidden.base, 9)
    } +${formatBytes(v.res.hidden.size)}, fences ${
      // gScale: fences are virtual, "-" until the pool lends a physical one
      v.ggtt.priv === null
        ? v.res.fences.join(",")
        : `${v.res.fences.map((f) => f < 0 ? "-" : f).join(",")} (pool)`}`,
    `  failsafe ${v.failsafe ? `yes (${v.failsafeReason})` : "no"}, PV-aware ${
      v.pvAware ? "yes" : "no"
    }, run-list ${ENGINE_NAMES.filter((_, e) => v.runList[e]).join(",") || "none"}, vblank ${
      v.vblankOn ? "on" : "off"
    }, TLB pending ${hex(v.tlbPending, 1)}`,
    `  queues ${ENGINE_NAMES.map((n, e) => `${n} ${v.queues[e].length}`).join(", ")}`,
    `  sched weight ${v.sched.weight}, active ${v.sched.active}, allocated ${
      formatTime(v.sched.allocatedTs)
    }, left ${formatTime(v.sched.leftTs)}, held ${formatTime(v.sched.schedTime)}`,
    `  traps ${
      c.traps.reduce((a, b) => a + b, 0)
    }, GGTT writes ${c.ggttWrites}, page-track ${c.wpTraps}, workloads ${c.workloadsCreated}/${c.workloadsCompleted} done, ` +
    `irqs ${c.irqRaised}, MSIs ${c.msiInjected}`,
  ];
  return lines.join("\n");
}

/** `reg <vm> <name|offset>`. */
export function showReg(w: World, vmName: string | undefined, reg: string | undefined): string {
  const v = vgpuOf(w, vmName);
  const { offset, def } = findRegister(w, reg);
  const guest = v.vreg[offset >>> 2] >>> 0, hw = w.gpu.regs[offset >>> 2] >>> 0;
  const name = def
    ? `${def.name} (${hex(offset, 5)})`
    : `${hex(offset, 5)} (untracked: default handler)`;
  const lines = [
    `${name} of ${v.vm}:`,
    `  guest view (vreg) ${hex(guest)}`,
    `  hardware          ${hex(hw)}${guest === hw ? "  (same)" : ""}`,
  ];
  if (def) {
    lines.push(
      `  ${flagNames(def.flags)}; reset value ${hex(def.reset)}${
        def.roMask ? `; read-only bits ${hex(def.roMask)}` : ""
      }`,
    );
  }
  return lines.join("\n");
}

/** `ggtt <vm> <start|aperture|hidden> [count]`. */
export function showGgtt(
  w: World,
  vmName: string | undefined,
  start: string | undefined,
  count: string | undefined,
): string {
  const v = vgpuOf(w, vmName);
  let gma: number;
  if (start === "aperture") gma = v.res.aperture.base;
  else if (start === "hidden") gma = v.res.hidden.base;
  else gma = parseNumber(start, "start graphics address");
  const n = count === undefined ? 8 : parseNumber(count, "count");
  if (n < 1 || n > 256) throw new ReplError("count must be 1..256");
  const first = Math.floor(gma / PAGE_SIZE);
  if (first + n > w.gpu.ggttEntries) throw new ReplError(`GGTT has ${w.gpu.ggttEntries} entries`);
  const rows: string[][] = [];
  for (let i = first; i < first + n; i++) {
    const slot = v.ggtt.slot(i);
    const host = w.gpu.ggttRead(i);
    const hv = typeof host === "number" ? host : 0;
    const present = (hv % 2) === 1;
    const mfn = pteFrame(hv);
    rows.push([
      String(i),
      hex(i * PAGE_SIZE, 9),
      slot < 0 ? "(outside)" : hex(v.ggtt.guest[slot], 10),
      hex(hv, 10),
      present ? String(mfn) : "-",
      present ? ownerName(w, w.gpu.memory.ownerOf(mfn)) : "not present",
    ]);
  }
  return table(["index", "gma", "guest", "shadow/host", "mfn", "owner"], rows);
}

/** `ppgtt <vm> [count]`. */
export function showPpgtt(w: World, vmName: string | undefined, count: string | undefined): string {
  const v = vgpuOf(w, vmName);
  const p = v.ppgtt;
  if (!p) return `${v.vm}: no PPGTT shadow state`;
  const n = count === undefined ? 20 : parseNumber(count, "count");
  const lines = [
    `${v.vm}: ${p.mms.length} address space(s), ${p.byGfn.size} shadow page(s), ${p.postList.length} awaiting post-shadow, ` +
    `${p.oosList.length} out of sync, ${p.splitPages} split`,
  ];
  p.mms.forEach((mm, i) => {
    lines.push(
      `  mm ${i}: ${mm.levels}-level, roots ${
        Array.from(mm.pdps).slice(0, mm.levels === 4 ? 1 : 4).map((x) => hex(x, 9)).join(",")
      }, shadowed ${mm.shadowed}, pinned ${mm.pin}, refs ${mm.refcount}`,
    );
  });
  const rows: string[][] = [];
  for (const [gfn, sp] of p.byGfn) {
    if (rows.length >= n) break;
    rows.push([
      String(gfn),
      ["", "PT", "PD", "PDP", "PML4"][sp.level] ?? String(sp.level),
      String(sp.mfn),
      String(sp.refcount),
      String(sp.writeCount),
      sp.outOfSync ? "yes" : "no",
      String(sp.postCount),
    ]);
  }
  if (rows.length) {
    lines.push(table(["gfn", "level", "mfn", "refs", "writes", "oos", "post"], rows));
  }
  if (p.byGfn.size > rows.length) {
    lines.push(`(${p.byGfn.size - rows.length} more; ppgtt ${v.vm} <count>)`);
  }
  return lines.join("\n");
}

/** `queues [vm]`. */
export function showQueues(w: World, vmName: string | undefined): string {
  const vms = vmName ? [vmByName(w, vmName)] : w.vms;
  const lines: string[] = [];
  const running = w.gvt.running;
  lines.push(
    "engines: " + ENGINE_NAMES.map((n, e) => {
      const r = running[e];
      return `${n} ${
        r ? `running ${r.vgpu.vm} ctx ${r.ctxId} since ${formatTime(r.startTime)}` : "idle"
      }`;
    }).join("; "),
  );
  for (const vm of vms) {
    const v = vm.vgpu;
    if (!v || v.destroyed) {
      lines.push(`${vm.spec.name}: no vGPU`);
      continue;
    }
    const parts = ENGINE_NAMES.map((n, e) => {
      const q = v.queues[e];
      if (!q.length) return `  ${n}: empty`;
      const items = q.slice(0, 4).map((wl) =>
        `${WL_STATES[wl.state] ?? wl.state} ctx ${wl.ctxId} head ${wl.head} tail ${wl.tail} @${
          formatTime(wl.submitTime)
        }`
      );
      return `  ${n}: ${q.length} queued: ${items.join("; ")}${q.length > 4 ? "; ..." : ""}`;
    });
    lines.push(`${vm.spec.name}:`, ...parts);
  }
  return lines.join("\n");
}

/** `sched`. */
export function showSched(w: World): string {
  const s = w.gvt.sched, now = w.sim.now;
  const cur = s.current;
  const lines = [
    `policy ${s.policy.name}, tick ${
      formatTime(s.policy.tickNs)
    }, ${w.gvt.globalCounters.switches} switches, ` +
    `current ${cur ? `${cur.vm} (vGPU ${cur.id}) since ${formatTime(s.schedInTime)}` : "idle"}${
      s.needReschedule ? ", switch pending" : ""
    }`,
  ];
  const rows: string[][] = [];
  for (const v of w.gvt.vgpus) {
    if (!v || v.destroyed) continue;
    rows.push([
      v.vm,
      String(v.id),
      String(v.sched.weight),
      v.sched.active ? "yes" : "no",
      formatTime(v.sched.allocatedTs),
      formatTime(v.sched.leftTs),
      formatTime(v.sched.schedTime),
      formatPct(now > 0 ? v.counters.busyNs[0] / now : 0),
    ]);
  }
  if (rows.length) {
    lines.push(
      table(["vm", "vgpu", "weight", "queued", "allocated", "left", "held", "rcs share"], rows),
    );
  }
  const q = s.policy.queue().map((v) => v.vm);
  lines.push(`run queue: ${q.length ? q.join(" -> ") : "(empty)"}`);
  return lines.join("\n");
}

function record(r: Record<string, number>): string {
  const keys = Object.keys(r).filter((k) => r[k] !== 0).sort();
  if (!keys.length) return "  (all zero)";
  const wk = Math.max(...keys.map((k) => k.length));
  return keys.map((k) => `  ${k.padEnd(wk)}  ${r[k]}`).join("\n");
}

/** `counters [vm]`. */
export function showCounters(w: World, vmName: string | undefined): string {
  if (vmName) {
    const v = vgpuOf(w, vmName);
    return `${v.vm} (vGPU ${v.id}):\n${record(vgpuCounterRecord(v.counters))}`;
  }
  const g = w.gpu.counters();
  const gpu: Record<string, number> = {
    msis: g.msis,
    mmio_reads: g.mmioReads,
    mmio_writes: g.mmioWrites,
    ggtt_writes: g.ggttWrites,
    command_faults: g.commandFaults,
    engine_resets: g.engineResets,
  };
  ENGINE_NAMES.forEach((n, e) => gpu[`busy_ns.${n}`] = g.busyNs[e]);
  return `mediator:\n${record(globalCounterRecord(w.gvt.globalCounters))}\ngpu:\n${
    record(gpu)
  }\nhypervisor ${w.gate.backend.name}:\n${
    record({ ...Object.fromEntries(w.ctx.counters), ...w.gate.opCounts })
  }`;
}

function pidName(w: World, pid: number): string {
  return w.trace?.processNames.get(pid) ?? `pid ${pid}`;
}

/** One trace record as a line. */
export function traceLine(w: World, r: TraceRecord): string {
  if (r.ph === "X") {
    return `${formatTime(r.ts).padStart(13)}  slice   ${pidName(w, r.pid)}/${
      threadName(r.tid)
    } ${r.name} (${formatTime(r.dur)})`;
  }
  if (r.ph === "i") {
    return `${formatTime(r.ts).padStart(13)}  instant ${pidName(w, r.pid)}/${
      threadName(r.tid)
    } ${r.name}`;
  }
  return `${formatTime(r.ts).padStart(13)}  counter ${pidName(w, r.pid)} ${r.name} = ${r.value}`;
}

/** `trace [n]`. */
export function showTrace(w: World, args: string[]): string {
  if (!w.trace) return "tracing is off in this world";
  const counted = args.length > 0 && /^[0-9]/.test(args[0]);
  const k = counted ? parseNumber(args[0], "count") : 20;
  const words = (counted ? args.slice(1) : args).map((x) => x.toLowerCase());
  // the last k lines that contain every filter word (VM, engine, kind: irq, trap, switch ...)
  const lines: string[] = [];
  const recs = w.trace.records;
  for (let i = recs.length - 1; i >= 0 && lines.length < k; i--) {
    const line = traceLine(w, recs[i]);
    const low = line.toLowerCase();
    if (words.every((x) => low.includes(x))) lines.push(line);
  }
  if (!lines.length) {
    return words.length ? `(no trace events match ${words.join(" ")})` : "(no trace events yet)";
  }
  return lines.reverse().join("\n");
}

/** `mem <vm> <gpa> [bytes]`: a hex dump of guest memory (16 bytes a line, with ASCII). */
export function showMem(w: World, name: string | undefined, at: string | undefined, n?: string) {
  const vm = vmByName(w, name);
  if (!vm.mem) throw new ReplError(`VM ${vm.spec.name} has no memory (state ${w.stateOf(vm)})`);
  const gpa = parseNumber(at, "guest physical address");
  const len = Math.min(n === undefined ? 64 : parseNumber(n, "byte count"), 4096);
  const buf = new Uint8Array(len);
  if (!vm.mem.read(gpa, buf)) {
    throw new ReplError(`${hex(gpa)}..${hex(gpa + len)} is outside ${vm.spec.name}'s memory`);
  }
  const out: string[] = [];
  for (let o = 0; o < len; o += 16) {
    const row = buf.subarray(o, Math.min(len, o + 16));
    const hexes = [...row].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    const ascii = [...row].map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : ".")).join("");
    out.push(`${hex(gpa + o, 10)}  ${hexes.padEnd(47)}  ${ascii}`);
  }
  return out.join("\n");
}

/** What a bare word names (VM, engine, register), with what can be done with it; undefined if nothing. */
export function describeName(w: World, word: string): string | undefined {
  const vm = w.vm(word);
  if (vm) {
    const v = vm.vgpu && !vm.vgpu.destroyed ? vm.vgpu : null;
    const n = vm.spec.name;
    return [
      `${n}: VM (${w.stateOf(vm)}), type ${vm.spec.type}, workload ${vm.spec.workload}${
        v ? `, vGPU ${v.id}, weight ${v.sched.weight}` : ", no vGPU"
      }`,
      `  inspect: vm ${n} | reg ${n} <reg> | ggtt ${n} aperture | ppgtt ${n} | queues ${n} | counters ${n}`,
      `  act:     pause ${n} | resume ${n} | reset ${n} | stop ${n} | start ${n} | weight ${n} <1..16> |`,
      `           misbehave ${n} <kind> | fault <op> <action> vm ${n} | mmio ${n} <reg> <value>`,
      `  watch:   watch fps(${n}) | watch share(${n}, rcs) | watch latency(${n}, p99) | until irq ${n}`,
    ].join("\n");
  }
  const e = ENGINE_NAMES.indexOf(word as typeof ENGINE_NAMES[number]);
  if (e >= 0) {
    const r = w.gvt.running[e];
    const busy = w.gpu.counters().busyNs[e];
    return [
      `${word}: engine ${e} (ring base ${hex(ENGINES[e].mmioBase, 5)}), ${
        r ? `running ${r.vgpu.vm} ctx ${r.ctxId}` : w.gpu.engineHung(e) ? "hung" : "idle"
      }, utilisation ${formatPct(w.sim.now > 0 ? busy / w.sim.now : 0)}`,
      `  inspect: queues | sched | reg <vm> ${word.toUpperCase()}_RING_TAIL`,
      `  watch:   watch share(<vm>, ${word}) | watch busy(<vm>, ${word})`,
    ].join("\n");
  }
  const up = word.toUpperCase();
  const def = w.gpu.registerDefs.find((d) => d.name.toUpperCase() === up);
  if (def) {
    return [
      `${def.name}: register at BAR0 ${hex(def.offset, 5)}, ${flagNames(def.flags)}, reset ${
        hex(def.reset)
      }, hardware ${hex(w.gpu.regs[def.offset >>> 2] >>> 0)}`,
      `  inspect: reg <vm> ${def.name}`,
      `  act:     mmio <vm> ${def.name} <value>   (a guest write through the backend)`,
    ].join("\n");
  }
  return undefined;
}
