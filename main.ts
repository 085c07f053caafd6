/**
 * The gvtsim command line. Each command lives in cli/; this file only parses arguments
 * (with Optique) and dispatches. Exit codes: 0 ok, 1 expectations failed, 2 invalid input.
 * @module
 */
import { object, or } from "@optique/core/constructs";
import { lineBreak, type Message, message, text } from "@optique/core/message";
import { multiple, optional, withDefault } from "@optique/core/modifiers";
import { argument, command, constant, flag, option } from "@optique/core/primitives";
import { integer, string } from "@optique/core/valueparser";
import type { InferValue } from "@optique/core/parser";
import { run } from "@optique/run";
import { duration, size } from "./cli/args.ts";
import { shortUsageError } from "./cli/usage_error.ts";
import { VERSION } from "./cli/version.ts";
import { typesInfo, typesOfScenario, typesTable } from "./cli/types.ts";

const scenarioArg = argument(string({ metavar: "SCENARIO" }), {
  description: message`Scenario file (.gvt); - reads it from stdin.`,
});

const EXIT_CODES =
  "Exit codes: 0 ok, 1 an expectation failed (fmt --check: unformatted), 2 invalid input or usage.";

/** Command lines, one per line (optique titles the program's `examples` itself). */
function exampleLines(...lines: string[]): Message {
  return lines.flatMap((l, i) => i === 0 ? [text(l)] : [lineBreak(), text(l)]);
}

/** A command's footer: "Examples:", one command line per line, and the exit codes. */
function examples(...lines: string[]): Message {
  return [
    text("Examples:"),
    ...lines.flatMap((l) => [lineBreak(), text("  " + l)]),
    lineBreak(),
    lineBreak(),
    text(EXIT_CODES),
  ];
}

/** `-D NAME=VALUE` (repeatable): a scenario parameter's value instead of its `param` default. */
const defines = multiple(
  option("-D", "--define", string({ metavar: "NAME=VALUE" }), {
    description:
      message`Set a scenario parameter (param NAME VALUE), e.g. -D slice=2ms (repeatable).`,
  }),
);

const runCmd = command(
  "run",
  object({
    cmd: constant("run"),
    scenario: optional(scenarioArg),
    defines,
    seed: optional(
      option("--seed", integer({ min: 0 }), {
        description: message`Seed (overrides the scenario's).`,
      }),
    ),
    until: optional(
      option("--until", duration(), {
        description: message`Simulated time to run (overrides the timeline's run).`,
      }),
    ),
    hypervisor: optional(
      option("--hypervisor", string({ metavar: "NAME|PATH" }), {
        description: message`Hypervisor backend: built-in name or plugin path.`,
      }),
    ),
    json: optional(
      option("--json", string({ metavar: "PATH|-" }), {
        description: message`Write results JSON (- for stdout).`,
      }),
    ),
    csv: optional(
      option("--csv", string({ metavar: "PATH" }), {
        description: message`Write per-VM CSV and the time series next to it.`,
      }),
    ),
    trace: optional(
      option("--trace", string({ metavar: "PATH" }), {
        description: message`Write a Chrome/Perfetto trace.`,
      }),
    ),
    report: optional(
      option("--report", string({ metavar: "PATH" }), {
        description: message`Write a self-contained HTML report.`,
      }),
    ),
    quiet: withDefault(
      flag("--quiet", "-q", { description: message`Print only failed expectations.` }),
      false,
    ),
    faults: multiple(
      option("--fault", string({ metavar: "SPEC" }), {
        description:
          message`Inject a backend fault from t=0, in the DSL's syntax, e.g. "dmaMapGuestPage error after 10 calls vm desktop" (repeatable).`,
      }),
    ),
    checkpointAt: optional(
      option("--checkpoint-at", duration(0), {
        description: message`Simulated time at which to write a checkpoint (with --checkpoint).`,
      }),
    ),
    checkpoint: optional(
      option("--checkpoint", string({ metavar: "PATH" }), {
        description: message`Checkpoint file written at --checkpoint-at; the run continues.`,
      }),
    ),
    restore: optional(
      option("--restore", string({ metavar: "PATH" }), {
        description:
          message`Continue from a checkpoint file to the end of the run (SCENARIO not needed).`,
      }),
    ),
  }),
  {
    description: message`Simulate a scenario and check its expectations.`,
    footer: examples(
      "gvtsim run scenarios/demo.gvt",
      "gvtsim run scenarios/weights.gvt --seed 7 --json out.json --report out.html",
      "gvtsim run scenarios/demo.gvt --hypervisor xen --until 2s -q",
      "gvtsim run scenarios/sweep.gvt -D slice=2ms",
      "cat scenarios/demo.gvt | gvtsim run - --json -",
    ),
  },
);

const replCmd = command(
  "repl",
  object({
    cmd: constant("repl"),
    scenario: optional(
      argument(string({ metavar: "SCENARIO" }), {
        description: message`Scenario (or checkpoint) to load first.`,
      }),
    ),
    defines,
  }),
  {
    description:
      message`Interactive console: load, run, step, inspect and steer a world; save and load checkpoints.`,
    footer: examples("gvtsim repl scenarios/demo.gvt", "gvtsim repl demo.ckpt"),
  },
);

const checkCmd = command(
  "check",
  object({
    cmd: constant("check"),
    files: multiple(
      argument(string({ metavar: "SCENARIO" }), {
        description: message`Scenario files to check; - reads one from stdin.`,
      }),
      { min: 1 },
    ),
    defines,
    json: withDefault(
      flag("--json", {
        description:
          message`Print the diagnostics as one JSON object (file, line, column, length, severity, message, hint).`,
      }),
      false,
    ),
  }),
  {
    description: message`Parse and check scenarios without simulating them (exit 2 on any error).`,
    footer: examples(
      "gvtsim check scenarios/*.gvt",
      "gvtsim check --json scenarios/demo.gvt",
      "gvtsim check - < scenarios/demo.gvt",
    ),
  },
);

const typesCmd = command(
  "types",
  object({
    cmd: constant("types"),
    scenario: optional(
      argument(string({ metavar: "SCENARIO" }), {
        description:
          message`Count for this scenario's hosts (GGTT, fences, gscale) and types; - reads stdin.`,
      }),
    ),
    defines,
    aperture: multiple(
      option("--aperture", size(), {
        description:
          message`Aperture size (repeatable); default 512MiB and 1GiB, or the scenario host's.`,
      }),
    ),
    json: withDefault(
      flag("--json", { description: message`Print the types as JSON (sizes in bytes).` }),
      false,
    ),
  }),
  {
    description: message`List vGPU types with their resources and available instances.`,
    footer: examples(
      "gvtsim types",
      "gvtsim types --aperture 256MiB --json",
      "gvtsim types scenarios/gscale15.gvt",
    ),
  },
);

const scanCmd = command(
  "scan",
  object({
    cmd: constant("scan"),
    file: argument(string({ metavar: "FILE|-" }), {
      description:
        message`Whitespace-separated dwords (0x hex or decimal; # comments); - for stdin.`,
    }),
    platform: optional(
      option("--platform", string({ metavar: "PLATFORM" }), {
        description: message`skylake (default), kabylake, coffeelake or broadwell.`,
      }),
    ),
    engine: optional(
      option("--engine", string({ metavar: "ENGINE" }), {
        description: message`Engine the stream runs on: rcs (default), bcs, vcs, vecs.`,
      }),
    ),
    gmRanges: multiple(
      option("--gm-range", string({ metavar: "START-END" }), {
        description:
          message`Graphics addresses the vGPU owns (repeatable; END exclusive); default the slices of a first V5_4 on a 512MiB-aperture host.`,
      }),
    ),
    batch: withDefault(
      flag("--batch", { description: message`Judge the stream as a first-level batch buffer.` }),
      false,
    ),
    json: optional(
      option("--json", string({ metavar: "PATH|-" }), {
        description: message`Write the verdicts as JSON (- for stdout).`,
      }),
    ),
  }),
  {
    description:
      message`Would GVT-g accept this command stream? One verdict per command, with the upstream rule for a rejection; exit 1 if any is rejected.`,
    footer: examples(
      "gvtsim scan stream.txt",
      "gvtsim scan --platform broadwell --engine bcs --batch --json - batch.txt",
      "echo '0x11000001 0x229c 0x80008000 0x05000000' | gvtsim scan -",
    ),
  },
);

const syntaxCmd = command(
  "syntax",
  object({
    cmd: constant("syntax"),
    html: option("--html", string({ metavar: "PATH" }), {
      description: message`Write the grammar's syntax diagrams (works offline).`,
    }),
  }),
  {
    description: message`Write railroad diagrams of the scenario language.`,
    footer: examples("gvtsim syntax --html grammar.html"),
  },
);

const compareCmd = command(
  "compare",
  object({
    cmd: constant("compare"),
    scenario: scenarioArg,
    hypervisors: option("--hypervisors", string({ metavar: "A,B,..." }), {
      description: message`Comma-separated backends to compare: kvm, xen, acrn or plugin paths.`,
    }),
    seed: optional(
      option("--seed", integer({ min: 0 }), {
        description: message`Seed for every run (overrides the scenario's).`,
      }),
    ),
    until: optional(
      option("--until", duration(), {
        description: message`Simulated time of every run (overrides the timeline's run).`,
      }),
    ),
    defines,
    json: optional(
      option("--json", string({ metavar: "PATH|-" }), {
        description: message`Write the compared results as JSON (- for stdout).`,
      }),
    ),
  }),
  {
    description:
      message`Run one scenario under several hypervisors and show the results side by side.`,
    footer: examples(
      "gvtsim compare scenarios/kvm_vs_xen.gvt --hypervisors kvm,xen,acrn",
      "gvtsim compare scenarios/demo.gvt --hypervisors kvm,./my_backend.ts --json -",
    ),
  },
);

const sweepCmd = command(
  "sweep",
  or(
    command(
      "merge",
      object({
        cmd: constant("sweep-merge"),
        dirs: multiple(
          argument(string({ metavar: "DIR" }), {
            description: message`A shard's results directory (--out of a --shard run).`,
          }),
          { min: 1 },
        ),
        out: option("--out", string({ metavar: "DIR" }), {
          description: message`The merged results directory.`,
        }),
      }),
      {
        description:
          message`Merge the directories of a sweep's shards into one, identical to the sweep run at once.`,
        footer: examples("gvtsim sweep merge out/study/shards/*/ --out out/study"),
      },
    ),
    object({
      cmd: constant("sweep"),
      scenario: scenarioArg,
      defines: multiple(
        option("-D", "--define", string({ metavar: "NAME=V1,V2" }), {
          description: message`Sweep a scenario parameter over these values (repeatable).`,
        }),
      ),
      seeds: optional(
        option("--seeds", string({ metavar: "A..B|A,B,..." }), {
          description: message`Seeds of each grid point (default: the scenario's seed).`,
        }),
      ),
      jobs: optional(
        option("-j", "--jobs", integer({ min: 1 }), {
          description: message`Runs at once (default: the number of cores).`,
        }),
      ),
      until: optional(
        option("--until", duration(), {
          description: message`Simulated time of each run (overrides the timeline's run).`,
        }),
      ),
      hypervisor: optional(
        option("--hypervisor", string({ metavar: "NAME|PATH" }), {
          description: message`Hypervisor backend of each run.`,
        }),
      ),
      shard: optional(
        option("--shard", string({ metavar: "I/N" }), {
          description: message`Run only the I-th of N slices of the grid (0-based).`,
        }),
      ),
      out: option("--out", string({ metavar: "DIR" }), {
        description: message`Results directory: results.db, runs.jsonl, summary.csv, report.html.`,
      }),
      emit: optional(
        option("--emit", string({ metavar: "slurm" }), {
          description:
            message`Print an sbatch job-array script for the sweep instead of running it.`,
        }),
      ),
      tasks: optional(
        option("--tasks", integer({ min: 1 }), {
          description: message`Array tasks of --emit slurm (default: one per 8 runs).`,
        }),
      ),
      quiet: withDefault(
        flag("--quiet", "-q", { description: message`No progress, only the final line.` }),
        false,
      ),
    }),
  ),
  {
    description:
      message`Run a scenario over a grid of parameter values and seeds, in parallel, into a results directory.`,
    footer: examples(
      "gvtsim sweep scenarios/sweep.gvt -D policy=gvt,gvirt-rr -D workers=1,2 --seeds 1..3 --out out/study",
      "gvtsim sweep scenarios/sweep.gvt -D workers=1,2,4 --shard 0/4 --out out/study/shards/0",
      "gvtsim sweep scenarios/sweep.gvt -D workers=1,2,4 --out out/study --emit slurm > study.sbatch",
    ),
  },
);

const reportCmd = command(
  "report",
  object({
    cmd: constant("report"),
    dir: argument(string({ metavar: "DIR" }), {
      description: message`A sweep's results directory.`,
    }),
  }),
  {
    description: message`Redraw DIR/report.html from a sweep's results database.`,
    footer: examples("gvtsim report out/study"),
  },
);

const pluginCmd = command(
  "plugin",
  or(
    command(
      "test",
      object({
        cmd: constant("plugin-test"),
        plugin: argument(string({ metavar: "PLUGIN" }), {
          description: message`The backend: a built-in name (kvm, xen, acrn) or a module path.`,
        }),
        params: multiple(
          option("--param", string({ metavar: "NAME=VALUE" }), {
            description:
              message`A backend parameter, as a scenario's hypervisor block sets it (e.g. --param iommu=gpa; repeatable).`,
          }),
        ),
        json: withDefault(
          flag("--json", {
            description:
              message`Print the report as JSON (gvtsim.conformance/1) instead of a table.`,
          }),
          false,
        ),
      }),
      {
        description: message`Check a backend against the mediator's contract.`,
        footer: examples(
          "gvtsim plugin test xen",
          "gvtsim plugin test ./my_backend.ts --json",
        ),
      },
    ),
    command(
      "new",
      object({
        cmd: constant("plugin-new"),
        name: argument(string({ metavar: "NAME" }), {
          description: message`Name of the backend (its module, test and deno.json are written).`,
        }),
        dir: withDefault(
          option("--dir", string({ metavar: "DIR" }), {
            description: message`Directory to write into (default: the current one).`,
          }),
          ".",
        ),
      }),
      {
        description: message`Scaffold a new backend and its test.`,
        footer: examples("gvtsim plugin new mygt --dir ../mygt"),
      },
    ),
    command(
      "build",
      object({
        cmd: constant("plugin-build"),
        entry: argument(string({ metavar: "ENTRY" }), {
          description: message`The backend module to bundle.`,
        }),
        out: option("-o", "--out", string({ metavar: "OUT" }), {
          description: message`The bundled ES module to write.`,
        }),
      }),
      {
        description:
          message`Bundle a backend into one ESM file with esbuild. It starts a subprocess: run it as ${"deno task plugin-build ENTRY -o OUT"}, not through the gvtsim task.`,
        footer: examples("deno task plugin-build ./mybackend.ts -o mybackend.js"),
      },
    ),
  ),
  { description: message`Hypervisor plugins: test, scaffold, bundle.` },
);

const fmtCmd = command(
  "fmt",
  object({
    cmd: constant("fmt"),
    check: withDefault(
      flag("--check", {
        description: message`Change nothing; list unformatted files and exit 1 if there are any.`,
      }),
      false,
    ),
    files: multiple(
      argument(string({ metavar: "SCENARIO|-" }), {
        description: message`Files to format in place; - formats stdin to stdout.`,
      }),
      { min: 1 },
    ),
  }),
  {
    description:
      message`Format scenarios: indentation, spacing, aligned declarations and comments (comments kept, idempotent).`,
    footer: examples(
      "gvtsim fmt scenarios/*.gvt",
      "gvtsim fmt --check scenarios/*.gvt",
      "gvtsim fmt - < messy.gvt",
    ),
  },
);

const lspCmd = command(
  "lsp",
  object({ cmd: constant("lsp") }),
  {
    description:
      message`Language server for .gvt files over stdio (diagnostics, completion, hover, go to definition, outline); editors start it, see editors/README.md.`,
    footer: examples(
      "gvtsim lsp    (an editor's language client starts it and talks JSON-RPC on stdin/stdout)",
    ),
  },
);

const parser = or(
  runCmd,
  checkCmd,
  typesCmd,
  scanCmd,
  syntaxCmd,
  compareCmd,
  pluginCmd,
  replCmd,
  fmtCmd,
  lspCmd,
  or(sweepCmd, reportCmd),
);

/** Commands by name, for usage errors that show only the command's own usage. */
const COMMANDS = {
  run: runCmd,
  check: checkCmd,
  types: typesCmd,
  syntax: syntaxCmd,
  compare: compareCmd,
  plugin: pluginCmd,
  repl: replCmd,
  fmt: fmtCmd,
  lsp: lspCmd,
  scan: scanCmd,
  sweep: sweepCmd,
  report: reportCmd,
};

/** Thrown by the runner's exit hook so a usage error can be reworded before exiting. */
class ParseExit {
  constructor(readonly code: number) {}
}

/** A parsed gvtsim command line: the command (`cmd`) and its options. */
export type CommandLine = InferValue<typeof parser>;

/** Where {@link parseCommandLine} writes (defaults: as the CLI, to stdout and stderr). */
export interface CommandLineOutput {
  /** Help and the version, a line at a time. */
  stdout?: (line: string) => void;
  /** A usage error, whole. */
  stderr?: (text: string) => void;
  /** Colours in help (default: detected from stdout and NO_COLOR). */
  colors?: boolean;
  /** Where help wraps (default: the terminal's width, none for a pipe). */
  maxWidth?: number;
}

/**
 * Parses `argv` as `gvtsim` does: the command line, or the exit code once help, the version or
 * a usage error (reworded by {@link shortUsageError}) has been written.
 */
export function parseCommandLine(
  argv: readonly string[],
  out: CommandLineOutput = {},
): { args: CommandLine } | { exit: number } {
  let parseError = "";
  try {
    return {
      args: run(parser, {
        args: [...argv],
        programName: "gvtsim",
        brief: message`Scriptable emulator of mediated pass-through GPU virtualization (GVT-g).`,
        examples: exampleLines(
          "gvtsim run scenarios/demo.gvt",
          "gvtsim check scenarios/*.gvt",
          "gvtsim run --help",
        ),
        footer: [text(EXIT_CODES)],
        help: "both",
        version: { value: `gvtsim ${VERSION}`, option: true, command: true },
        completion: { command: { names: ["completions"] } },
        aboveError: "none",
        errorExitCode: 2,
        stdout: out.stdout,
        colors: out.colors,
        maxWidth: out.maxWidth,
        stderr: (t) => void (parseError += t + "\n"),
        onExit: (code) => {
          throw new ParseExit(code);
        },
      }),
    };
  } catch (e) {
    if (!(e instanceof ParseExit)) throw e;
    if (parseError !== "") {
      (out.stderr ?? console.error)(
        e.code === 0 ? parseError.trimEnd() : shortUsageError(parseError, argv, COMMANDS),
      );
    }
    return { exit: e.code };
  }
}

async function main(args: CommandLine, color: boolean): Promise<number> {
  switch (args.cmd) {
    case "run": {
      const { runScenario } = await import("./cli/run.ts");
      if (args.scenario === undefined && args.restore === undefined) {
        console.error("gvtsim run: error: missing SCENARIO (or --restore PATH)");
        return 2;
      }
      const { listenForCtrlC } = await import("./cli/interrupt.ts");
      const interrupts = listenForCtrlC();
      return (await runScenario(args.scenario ?? "", { ...args, color, interrupts })).code;
    }
    case "check": {
      const { checkFiles } = await import("./cli/check.ts");
      return checkFiles([...args.files], { defines: args.defines, json: args.json });
    }
    case "types": {
      if (args.scenario !== undefined) {
        return typesOfScenario(args.scenario, { ...args, apertures: args.aperture });
      }
      const aps = args.aperture.length ? [...args.aperture] : [512 * 1024 ** 2, 1024 ** 3];
      console.log(args.json ? JSON.stringify(typesInfo(aps), null, 2) : typesTable(aps));
      return 0;
    }
    case "scan": {
      const { scanCommand } = await import("./cli/scan.ts");
      return await scanCommand(args.file, args);
    }
    case "syntax": {
      const { writeSyntaxHtml } = await import("./cli/syntax.ts");
      return writeSyntaxHtml(args.html);
    }
    case "compare": {
      const { compareHypervisors } = await import("./cli/compare.ts");
      return await compareHypervisors(
        args.scenario,
        args.hypervisors.split(",").filter(Boolean),
        args,
      );
    }
    case "plugin-test": {
      const { parseParams, pluginTest } = await import("./cli/plugin.ts");
      const params = parseParams(args.params);
      if (typeof params === "string") {
        console.error(`plugin test: ${params}`);
        return 2;
      }
      return pluginTest(args.plugin, { json: args.json, params });
    }
    case "plugin-new": {
      const { pluginNew } = await import("./cli/plugin.ts");
      return pluginNew(args.name, args.dir);
    }
    case "repl": {
      const { startRepl } = await import("./cli/repl.ts");
      return await startRepl(args.scenario, args.defines);
    }
    case "fmt": {
      const { fmtFiles } = await import("./cli/fmt.ts");
      return await fmtFiles([...args.files], { check: args.check });
    }
    case "lsp": {
      const { startLsp } = await import("./cli/lsp.ts");
      return await startLsp();
    }
    case "plugin-build": {
      const { pluginBuild } = await import("./cli/plugin.ts");
      return pluginBuild(args.entry, args.out);
    }
    case "sweep": {
      const { sweepCommand } = await import("./cli/sweep.ts");
      return await sweepCommand({ ...args, file: args.scenario });
    }
    case "sweep-merge": {
      const { mergeCommand } = await import("./cli/sweep.ts");
      return await mergeCommand(args.dirs, args.out);
    }
    case "report": {
      const { reportCommand } = await import("./cli/sweep.ts");
      return await reportCommand(args.dir);
    }
  }
}

if (import.meta.main) {
  const parsed = parseCommandLine(Deno.args);
  if ("exit" in parsed) Deno.exit(parsed.exit);
  const color = Deno.env.get("NO_COLOR") === undefined && Deno.stdout.isTerminal();
  // Anything that escapes a command (an unwritable output path, say) is one line, not a stack.
  try {
    Deno.exit(await main(parsed.args, color));
  } catch (e) {
    console.error(`gvtsim: error: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(2);
  }
}
