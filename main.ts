/**
 * The gvtsim command line. Each command lives in cli/; this file only parses arguments
 * (with Optique) and dispatches. Exit codes: 0 ok, 1 expectations failed, 2 invalid input.
 * @module
 */
import { object, or } from "@optique/core/constructs";
import { message } from "@optique/core/message";
import { multiple } from "@optique/core/modifiers";
import { command, constant, option } from "@optique/core/primitives";
import { run } from "@optique/run";
import { size } from "./cli/args.ts";
import { typesTable } from "./cli/types.ts";

const typesCmd = command(
  "types",
  object({
    cmd: constant("types"),
    aperture: multiple(
      option("--aperture", size(), {
        description: message`Aperture size (repeatable); default 512MiB and 1GiB.`,
      }),
    ),
  }),
  { description: message`List vGPU types with their resources and available instances.` },
);

const parser = or(typesCmd);

const args = run(parser, {
  programName: "gvtsim",
  brief: message`Scriptable emulator of mediated pass-through GPU virtualization (GVT-g).`,
  help: "both",
  completion: { command: { names: ["completions"] } },
  errorExitCode: 2,
});

switch (args.cmd) {
  case "types": {
    const aps = args.aperture.length ? [...args.aperture] : [512 * 1024 ** 2, 1024 ** 3];
    console.log(typesTable(aps));
    break;
  }
}
