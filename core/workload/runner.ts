/**
 * The workload interpreter: runs a {@link WorkloadSpec} body as an explicit state machine
 * (an {@link EventSink} whose whole state is plain data, so a snapshot can capture it) against
 * a {@link DriverPort} (the native driver, or the guest driver inside a VM). It resolves every
 * {@link Dist} from one seeded {@link Rng} stream and implements `every` / `repeat` /
 * `choose` / `think` / `wait` with an explicit frame stack, so running a loop allocates
 * nothing per iteration.
 *
 * Time: every port method returns the simulated time the operation takes: a delay in ns
 * (>= 0), or {@link WAIT}, meaning the port will call `waker.wake()` later (from an event,
 * never synchronously inside the call) when the operation is done.
 */

import type { Rng } from "../sim/rng.ts";
import { DONE, Resumable, type Sim, WAIT } from "../sim/sim.ts";
import type { Dist, MisbehaviourKind, WorkloadOp, WorkloadSpec } from "../scenario.ts";
import { emptyMix, type MixCounts } from "../cmd/batch.ts";
import { engineId } from "../cmd/table.ts";

export type { MixCounts } from "../cmd/batch.ts";
export { WAIT } from "../sim/sim.ts";

/** Something that can be woken (a {@link WorkloadRunner}, or a {@link Process}). */
export interface Waker {
  /** Resumes the waiting process. */
  wake(): void;
}

/** What a driver offers a workload. Every method returns a delay (ns) or {@link WAIT}. */
export interface DriverPort {
  /** Called once before the first operation with the waker of the running process. */
  bind(waker: Waker): void;
  /**
   * Brings the driver up if it is not (first use, or after a device reset) and returns the
   * time that takes, 0 when it is up. The runner asks before every step and runs the step
   * that much later, so start-up is never part of an operation (a batch submitted while the
   * driver boots would otherwise count the boot as its latency).
   */
  ready(): number;
  /** Builds and submits one batch of `mix` on `engine` (0..3). `mix` is reused: copy it. */
  submitBatch(engine: number, mix: Readonly<MixCounts>): number;
  /** Queues a page flip of the primary plane (completes at the next vblank). */
  flip(): number;
  /** Waits until `engine` (or every engine when -1) has completed all submitted work. */
  waitCompletion(engine: number): number;
  /** Waits for the next vblank. */
  waitVblank(): number;
  /**
   * Allocates and maps `n` pages into the process's graphics address space (`huge`: 2 MiB
   * pages, one page-directory entry each).
   */
  mapPages(n: number, huge?: boolean): number;
  /** Unmaps and frees `n` previously mapped pages of that size (fewer if fewer are mapped). */
  unmapPages(n: number, huge?: boolean): number;
  /** Rewrites `n` page-table entries (the "massive update" pattern). */
  pteRewrite(n: number): number;
  /** Performs a deliberate misbehaviour `count` times. */
  misbehave(kind: MisbehaviourKind, count: number): number;
}

/** Counts of what a runner did. */
export interface RunnerCounters {
  /** Batches submitted. */
  batches: number;
  /** Flips requested. */
  flips: number;
  /** Waits performed. */
  waits: number;
  /** Think steps. */
  thinks: number;
  /** Map operations. */
  maps: number;
  /** Unmap operations. */
  unmaps: number;
  /** PTE rewrite operations. */
  pteRewrites: number;
  /** Misbehaviour operations. */
  misbehaviours: number;
  /** Iterations of `every` bodies that overran their period. */
  overruns: number;
}

/** Draws a value from `d` (never negative). */
export function sampleDist(d: Dist, rng: Rng): number {
  let v: number;
  switch (d.kind) {
    case "const":
      v = d.value;
      break;
    case "uniform":
      v = d.lo + rng.next() * (d.hi - d.lo);
      break;
    case "exp":
      v = rng.exp(d.mean);
      break;
    case "normal":
      v = rng.normal(d.mean, d.sd);
      break;
  }
  return v > 0 ? v : 0;
}

/** Draws a non-negative integer count from `d`. */
export function sampleCount(d: Dist, rng: Rng): number {
  if (d.kind === "uniform") return rng.int(Math.ceil(d.lo), Math.floor(d.hi));
  return Math.round(sampleDist(d, rng));
}

const M_ONCE = 0, M_REPEAT = 1, M_FOREVER = 2, M_EVERY = 3;
/** Where the next resumption continues: before the first op, the loop top, a loop restart. */
const P_START = 0, P_LOOP = 1, P_RESTART = 2, P_DONE = 3;

/**
 * Runs one workload against one port: create it, then {@link spawn}. It is its own event
 * sink and waker (the workload's vCPU): `suspend` / `resume` freeze and unfreeze it, `wake`
 * resumes it after a port returned {@link WAIT}.
 */
export class WorkloadRunner extends Resumable implements Waker {
  /** What has been done so far. */
  readonly counters: RunnerCounters = {
    batches: 0,
    flips: 0,
    waits: 0,
    thinks: 0,
    maps: 0,
    unmaps: 0,
    pteRewrites: 0,
    misbehaviours: 0,
    overruns: 0,
  };
  /** True once the body has finished (a workload with a forever loop never finishes). */
  finished = false;
  private phase = P_START;

  private readonly mix: MixCounts = emptyMix();
  private ops: WorkloadOp[][] = [];
  private idx: number[] = [];
  private mode: number[] = [];
  private left: number[] = [];
  private start: number[] = [];
  private period: number[] = [];
  private timed: number[] = [];

  /**
   * Creates the instance.
   * @param sim the simulation (for the clock)
   * @param spec the workload
   * @param port the driver it runs on
   * @param rng its random stream (e.g. `sim.streams.stream("vm:" + name)`)
   */
  constructor(
    sim: Sim,
    readonly spec: WorkloadSpec,
    private readonly port: DriverPort,
    private readonly rng: Rng,
  ) {
    super(sim);
  }

  /** Starts the workload after `delay` ns (binds the port to this runner); returns it. */
  spawn(delay = 0): WorkloadRunner {
    this.sim.schedule(delay, this, 0);
    this.port.bind(this);
    return this;
  }

  /** Pushes a loop frame. */
  private push(ops: WorkloadOp[], mode: number, left: number, period: number): void {
    this.ops.push(ops);
    this.idx.push(0);
    this.mode.push(mode);
    this.left.push(left);
    this.start.push(this.sim.now);
    this.period.push(period);
    this.timed.push(this.sim.now);
  }

  /** Pops a loop frame. */
  private pop(): void {
    this.ops.pop();
    this.idx.pop();
    this.mode.pop();
    this.left.pop();
    this.start.pop();
    this.period.pop();
    this.timed.pop();
  }

  /** @internal the workload interpreter's next step falls due */
  override describeEvent(): string {
    return "workload step";
  }

  /**
   * Runs the body from where it stopped to its next delay (ns), {@link WAIT}, or
   * {@link DONE}; the continuation point is kept in `phase`, the loops in the frame stack.
   */
  protected advance(): number {
    const rng = this.rng, port = this.port, c = this.counters, mix = this.mix;
    if (this.phase === P_START) {
      this.push(this.spec.body, M_ONCE, 1, 0);
      this.phase = P_LOOP;
    } else if (this.phase === P_RESTART) {
      const f = this.ops.length - 1;
      this.timed[f] = this.sim.now;
      this.idx[f] = 0;
      this.phase = P_LOOP;
    } else if (this.phase === P_DONE) return DONE;
    while (this.ops.length > 0) {
      const f = this.ops.length - 1;
      const ops = this.ops[f];
      if (this.idx[f] >= ops.length) {
        const m = this.mode[f];
        if (m === M_ONCE || (m === M_REPEAT && --this.left[f] <= 0)) {
          this.pop();
          continue;
        }
        if (m === M_EVERY) {
          const next = this.start[f] + this.period[f];
          if (this.sim.now < next) {
            this.start[f] = next;
            this.idx[f] = 0;
            return next - this.sim.now;
          }
          c.overruns++;
          this.start[f] = this.sim.now;
        }
        // A loop iteration must take time, or a zero-time body would spin forever.
        if (this.timed[f] === this.sim.now) {
          this.phase = P_RESTART;
          return 1;
        }
        this.timed[f] = this.sim.now;
        this.idx[f] = 0;
        continue;
      }
      const up = port.ready();
      if (up > 0) return up; // the same step runs once the driver is up
      const op = ops[this.idx[f]++];
      let r = 0;
      switch (op.op) {
        case "batch":
          mix.draw = sampleCount(op.mix.draw, rng);
          mix.blit = sampleCount(op.mix.blit, rng);
          mix.media = sampleCount(op.mix.media, rng);
          mix.compute = sampleCount(op.mix.compute, rng);
          mix.store = sampleCount(op.mix.store, rng);
          mix.lri = sampleCount(op.mix.lri, rng);
          mix.srm = op.mix.srm ? sampleCount(op.mix.srm, rng) : 0;
          mix.lrm = op.mix.lrm ? sampleCount(op.mix.lrm, rng) : 0;
          mix.lrr = op.mix.lrr ? sampleCount(op.mix.lrr, rng) : 0;
          mix.fill = op.mix.fill ? sampleCount(op.mix.fill, rng) : 0;
          mix.lriRegs = op.mix.lriRegs ?? null;
          mix.srmRegs = op.mix.srmRegs ?? null;
          mix.lrmRegs = op.mix.lrmRegs ?? null;
          mix.lrrRegs = op.mix.lrrRegs ?? null;
          mix.dwords = op.mix.dwords ?? null;
          c.batches++;
          r = port.submitBatch(engineId(op.engine), mix);
          break;
        case "flip":
          c.flips++;
          r = port.flip();
          break;
        case "wait":
          c.waits++;
          r = op.what === "vblank" ? port.waitVblank() : port.waitCompletion(-1);
          break;
        case "think":
          c.thinks++;
          r = Math.round(sampleDist(op.duration, rng));
          break;
        case "every":
          this.push(op.body, M_EVERY, 0, op.period);
          break;
        case "repeat":
          if (op.count === "forever") this.push(op.body, M_FOREVER, 0, 0);
          else if (op.count > 0) this.push(op.body, M_REPEAT, op.count, 0);
          break;
        case "choose": {
          let total = 0;
          for (const o of op.options) total += o.weight;
          let x = rng.next() * total;
          for (const o of op.options) {
            x -= o.weight;
            if (x < 0) {
              this.push(o.body, M_ONCE, 1, 0);
              break;
            }
          }
          break;
        }
        case "map":
          c.maps++;
          r = port.mapPages(sampleCount(op.pages, rng), op.huge === true);
          break;
        case "unmap":
          c.unmaps++;
          r = port.unmapPages(sampleCount(op.pages, rng), op.huge === true);
          break;
        case "pte_rewrite":
          c.pteRewrites++;
          r = port.pteRewrite(sampleCount(op.count, rng));
          break;
        case "misbehave":
          c.misbehaviours++;
          r = port.misbehave(op.kind, op.count);
          break;
      }
      if (r === WAIT || r > 0) return r;
    }
    this.finished = true;
    this.phase = P_DONE;
    return DONE;
  }
}
