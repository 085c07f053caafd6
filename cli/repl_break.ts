/**
 * Breakpoints and watchpoints of the REPL: stop a `run`, `step <d>` or `continue` when a VM's
 * virtual register changes (`break reg VM NAME`), a VM takes an interrupt (`break irq VM`), a
 * vGPU enters failsafe (`break failsafe`), or a condition over the results becomes true
 * (`break when fps(a) < 30`). Register, interrupt and failsafe breakpoints are checked after
 * every event; conditions every millisecond of simulated time (they read all the results).
 * @module
 */

import type { Expectation } from "../core/scenario.ts";
import type { World } from "../core/world.ts";
import { collectResults } from "../core/metrics/collect.ts";
import { evaluateExpectations } from "../core/metrics/expect.ts";
import { WorldWindows } from "../core/metrics/windows.ts";
import { findRegister, ReplError, vgpuOf, vmByName } from "./repl_inspect.ts";

/** How often (simulated ns) `break when` conditions are evaluated. */
export const CONDITION_PERIOD_NS = 1_000_000;

/** One breakpoint. */
interface Breakpoint {
  id: number;
  /** As typed after `break`. */
  text: string;
  /** Evaluated every millisecond instead of after every event. */
  periodic: boolean;
  /** Returns what happened when it is hit, undefined otherwise (and remembers the new state). */
  check(): string | undefined;
}

const hex = (n: number) => "0x" + (n >>> 0).toString(16).padStart(8, "0");

/** The breakpoints of a session. */
export class Breakpoints {
  private list: Breakpoint[] = [];
  private next = 1;
  private nextCondition = 0;

  /** True when there is at least one. */
  get any(): boolean {
    return this.list.length > 0;
  }

  /** `break reg|irq|failsafe|when ...`; `parseWhen` turns a condition into an expectation. */
  add(w: World, args: string[], parseWhen: (text: string) => Expectation): string {
    const [what, a, b] = args;
    let bp: Omit<Breakpoint, "id">;
    if (what === "reg") {
      const v = vgpuOf(w, a);
      const { offset, def } = findRegister(w, b);
      const name = def?.name ?? "0x" + offset.toString(16);
      let last = v.vreg[offset >>> 2] >>> 0;
      bp = {
        text: `reg ${v.vm} ${name}`,
        periodic: false,
        check: () => {
          const now = v.vreg[offset >>> 2] >>> 0;
          if (now === last) return undefined;
          const msg = `${v.vm} ${name} changed ${hex(last)} -> ${hex(now)}`;
          last = now;
          return msg;
        },
      };
    } else if (what === "irq") {
      const vm = vmByName(w, a);
      const count = () => (vm.driver ? vm.driver.metrics.irqs + vm.driver.metrics.msis : 0);
      let last = count();
      bp = {
        text: `irq ${vm.spec.name}`,
        periodic: false,
        check: () => {
          const now = count();
          if (now === last) return undefined;
          last = now;
          return `interrupt of ${vm.spec.name} (${now} so far)`;
        },
      };
    } else if (what === "failsafe") {
      let last = w.gvt.failsafeLog.length;
      bp = {
        text: "failsafe",
        periodic: false,
        check: () => {
          const log = w.gvt.failsafeLog;
          if (log.length === last) return undefined;
          last = log.length;
          const f = log[log.length - 1];
          return `failsafe: ${f.vm} ${f.reason} (${f.detail})`;
        },
      };
    } else if (what === "when") {
      const text = args.slice(1).join(" ");
      if (text === "") throw new ReplError("usage: break when <condition>, e.g. fps(a) < 30");
      const ex = parseWhen(text);
      let was = false;
      bp = {
        text: `when ${text}`,
        periodic: true,
        check: () => {
          const [r] = evaluateExpectations(collectResults(w), [ex], new WorldWindows(w));
          const hit = r.pass && !was;
          was = r.pass;
          return hit ? `${text} (${r.actual})` : undefined;
        },
      };
    } else {
      throw new ReplError(
        "usage: break reg <vm> <register> | break irq <vm> | break failsafe | break when <condition>",
      );
    }
    const id = this.next++;
    this.list.push({ id, ...bp });
    return `breakpoint ${id}: ${bp.text}`;
  }

  /** `break` alone: the list. */
  show(): string {
    return this.list.length
      ? this.list.map((b) => `${b.id}: ${b.text}`).join("\n")
      : "no breakpoints (break reg|irq|failsafe|when ...)";
  }

  /** `delete <n | all>`. */
  delete(which: string | undefined): string {
    if (which === undefined || which === "all") {
      const n = this.list.length;
      this.list = [];
      return `deleted ${n} breakpoint(s)`;
    }
    const i = this.list.findIndex((b) => String(b.id) === which);
    if (i < 0) throw new ReplError(`no breakpoint ${which} (break lists them)`);
    const [b] = this.list.splice(i, 1);
    return `deleted breakpoint ${b.id}: ${b.text}`;
  }

  /** After an event: the first breakpoint hit, as `breakpoint N (text): what`. */
  check(now: number): string | undefined {
    const periodic = now >= this.nextCondition;
    if (periodic) {
      this.nextCondition = (Math.floor(now / CONDITION_PERIOD_NS) + 1) * CONDITION_PERIOD_NS;
    }
    for (const b of this.list) {
      if (b.periodic && !periodic) continue;
      const hit = b.check();
      if (hit !== undefined) return `breakpoint ${b.id} (${b.text}): ${hit}`;
    }
    return undefined;
  }

  /** Forgets the world's state (a new world was loaded): breakpoints name its objects. */
  clear(): void {
    this.list = [];
    this.nextCondition = 0;
  }
}
