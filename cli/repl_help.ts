/**
 * The REPL's command table: names, usage lines and help texts (`help`, `help <command>`,
 * tab completion).
 * @module
 */

/** One REPL command. */
export interface ReplCommandHelp {
  /** Name typed first. */
  name: string;
  /** Usage line. */
  usage: string;
  /** One-line summary. */
  summary: string;
  /** Longer text for `help <command>`. */
  detail: string;
}

/** Every command of the REPL, in the order `help` lists them. */
export const REPL_COMMANDS: readonly ReplCommandHelp[] = [
  {
    name: "load",
    usage: "load <scenario.gvt | checkpoint>",
    summary: "load a scenario (a fresh world at 0 s) or a checkpoint",
    detail:
      "A scenario file builds a new world at t = 0 with tracing on. A checkpoint file (written by\n" +
      "`save` or `run --checkpoint`) rebuilds its world from the stored sources, replays its journal\n" +
      "and checks the state digest before handing it over.",
  },
  {
    name: "reload",
    usage: "reload",
    summary: "reload the current scenario from disk (back to 0 s)",
    detail: "Reads the scenario file again and builds a new world at t = 0. Watches are kept.",
  },
  {
    name: "run",
    usage: "run <duration>",
    summary: "advance the simulation by a duration (e.g. run 100ms)",
    detail: "Runs every event up to now + duration; then prints the watches.",
  },
  {
    name: "step",
    usage: "step [duration]",
    summary: "dispatch one event, or advance by a duration",
    detail:
      "Without an argument, dispatches exactly one event and says what it was (e.g. scheduler\n" +
      "tick, rcs execution done) and when. With a duration it is `run` (breakpoints apply).",
  },
  {
    name: "until",
    usage: "until irq <vm> | switch | failsafe [cap]",
    summary: "run until the next guest interrupt of a VM, vGPU switch, or failsafe entry",
    detail:
      "Dispatches events one by one until the event happens, or until the cap (a duration,\n" +
      "default 1s of simulated time) is reached.",
  },
  {
    name: "vms",
    usage: "vms",
    summary: "list the VMs and their vGPUs",
    detail: "Name, state, type, vGPU id, weight, frames and interrupts so far.",
  },
  {
    name: "vm",
    usage: "vm <vm>",
    summary: "the state of one VM's vGPU",
    detail:
      "Slices, fences, BARs, failsafe, PV-awareness, run-list engines, queue depths, scheduler data\n" +
      "and the main counters.",
  },
  {
    name: "reg",
    usage: "reg <vm> <register | offset>",
    summary: "a register: the guest's view (vreg) against the hardware value",
    detail:
      "The register by i915 name (e.g. RCS_RING_TAIL, case-insensitive) or BAR0 offset (0x2030).\n" +
      "Shows the vGPU's virtual register and the physical register file (read without side effects).",
  },
  {
    name: "ggtt",
    usage: "ggtt <vm> <start | aperture | hidden> [count]",
    summary: "GGTT entries: guest value, shadow (host) value, owner of the page",
    detail:
      "`start` is a graphics memory address (hex or decimal) or the word aperture / hidden for the\n" +
      "start of the vGPU's slice; count defaults to 8 (at most 256).",
  },
  {
    name: "ppgtt",
    usage: "ppgtt <vm> [count]",
    summary: "PPGTT shadow pages of a VM",
    detail:
      "Address spaces, then the shadow pages by guest frame: level, host frame, refcount, writes, out-of-sync.",
  },
  {
    name: "queues",
    usage: "queues [vm]",
    summary: "workload queues per engine",
    detail:
      "Per VM and engine: queued workloads (state, context id, ring head/tail, submit time), and what each engine runs.",
  },
  {
    name: "sched",
    usage: "sched",
    summary: "scheduler: policy, current vGPU, time slices, share so far",
    detail:
      "The policy and its tick, the vGPU holding the GPU and since when; per vGPU its weight,\n" +
      "allocated and left time slice, time held, and render-engine share so far.",
  },
  {
    name: "counters",
    usage: "counters [vm]",
    summary: "mediator and GPU counters, or one vGPU's",
    detail: "Non-zero counters, sorted by name.",
  },
  {
    name: "trace",
    usage: "trace [n] [filter] | trace save <path>",
    summary:
      "the last n trace events (default 20), optionally filtered; or the whole trace to a file",
    detail:
      "Slices, instants and counters recorded since the world was built. Filter words keep the\n" +
      "lines that contain all of them (case-insensitive): trace 10 irq game, trace switch, trace rcs.\n" +
      "The REPL keeps the last 4096 records in memory and spools the rest to a temporary file:\n" +
      "`trace save <path>` writes the whole trace so far as `run --trace` does (written atomically).",
  },
  {
    name: "events",
    usage: "events [n]",
    summary: "the next n pending events of the simulation queue (default 10)",
    detail:
      "Time, insertion sequence and what each event is (scheduler tick, rcs execution done,\n" +
      "virtual vblank of game, ...) with the receiving class, in firing order.",
  },
  {
    name: "mmio",
    usage: "mmio <vm> <register | offset> <value>",
    summary: "a 4-byte guest MMIO write through the hypervisor backend",
    detail:
      "Writes BAR0 + offset as the guest's CPU would: the backend traps it and the mediator emulates\n" +
      "it. Recorded in the journal so that checkpoints replay it.",
  },
  {
    name: "watch",
    usage: "watch <expression>",
    summary: "print an expression after each run/step (e.g. watch fps(vm1))",
    detail:
      "Any expression of `expect` (share(vm, rcs), latency(vm, p99), traps(vm, gtt), counter(vm, name),\n" +
      "arithmetic..., windows such as share(vm, rcs, 1s..) or latency(vm, p99, 2s..3s)) evaluated\n" +
      "on the results so far. `watch` alone lists the watches.",
  },
  {
    name: "unwatch",
    usage: "unwatch [n | all]",
    summary: "remove a watch (by number) or all",
    detail: "Without an argument removes all watches.",
  },
  {
    name: "save",
    usage: "save <path>",
    summary: "write a checkpoint of the world",
    detail:
      "Stores the scenario sources, seed, overrides, the journal of actions applied here and a digest\n" +
      "of the whole state; `load <path>` brings it back (see docs/repl.md).",
  },
  {
    name: "mem",
    usage: "mem <vm> <gpa> [bytes]",
    summary: "a hex dump of guest memory (default 64 bytes, at most 4096)",
    detail:
      "Reads the VM's RAM at a guest physical address (decimal or 0x hex) through its memory map,\n" +
      "16 bytes a line with ASCII; e.g. mem game 0x1000 128. `ggtt` dumps the graphics translation.",
  },
  {
    name: "break",
    usage: "break reg <vm> <register> | irq <vm> | failsafe | when <condition>",
    summary: "stop run/step/continue at a register change, interrupt, failsafe or condition",
    detail:
      "break reg game RCS_RING_TAIL  stops when the VM's virtual register changes (a watchpoint);\n" +
      "break irq game                stops at the VM's next interrupt;\n" +
      "break failsafe                stops when any vGPU enters failsafe;\n" +
      "break when fps(game) < 30     stops when the condition becomes true (checked every 1ms).\n" +
      "`break` alone lists them; `delete <n | all>` removes them; loading a world clears them.",
  },
  {
    name: "delete",
    usage: "delete [n | all]",
    summary: "remove a breakpoint (or all)",
    detail: "The numbers are those `break` lists.",
  },
  {
    name: "continue",
    usage: "continue",
    summary: "run to the end of the scenario's run, stopping at breakpoints (also c)",
    detail: "Like run with the time left until the timeline's `run` length.",
  },
  {
    name: "help",
    usage: "help [command]",
    summary: "this list, or one command's help",
    detail: "Also: type a VM, engine or register name alone to see what it is.",
  },
  {
    name: "quit",
    usage: "quit",
    summary: "leave (also exit, or end of input)",
    detail: "Exits with status 0.",
  },
];

/** Timeline statements of the DSL accepted as commands. */
export const DSL_ACTIONS: readonly string[] = [
  "start",
  "stop",
  "pause",
  "resume",
  "reset",
  "weight",
  "fault",
  "policy",
  "misbehave",
];

/** The text of `help`. */
export function helpText(): string {
  const w = Math.max(...REPL_COMMANDS.map((c) => c.usage.length));
  const lines = REPL_COMMANDS.map((c) => `  ${c.usage.padEnd(w)}  ${c.summary}`);
  return [
    "commands:",
    ...lines,
    "timeline statements of the scenario language act at the current time:",
    "  start|stop|pause|resume|reset <vm>, weight <vm> <n>, fault <op> <action> ..., policy <name> ...,",
    "  misbehave <vm> <kind> [n]",
    "type a VM, engine or register name alone to see what it is; help <command> for details",
  ].join("\n");
}

/** The text of `help <command>`, or undefined for an unknown command. */
export function commandHelp(name: string): string | undefined {
  const c = REPL_COMMANDS.find((x) => x.name === name);
  if (c) {
    return `${c.usage}\n  ${c.summary}\n${c.detail.split("\n").map((l) => `  ${l}`).join("\n")}`;
  }
  if (DSL_ACTIONS.includes(name)) {
    return `${name} ...: a timeline statement of the scenario language (docs/dsl.md, "timeline"),\n` +
      "  applied now; e.g. pause vm1, weight vm1 8, fault dmaMapGuestPage error vm vm1,\n" +
      "  policy gvirt-rr timeslice 16ms, misbehave evil ring_garbage 5";
  }
  return undefined;
}
