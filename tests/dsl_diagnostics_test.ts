// Golden tests of diagnostics text: what `gvtsim check` prints for bad scenarios.
// Regenerate a golden only after reading the new text: it is the user interface.
import assert from "node:assert/strict";
import { formatDiagnostics, parseScenarioText } from "../dsl/mod.ts";

function check(file: string, text: string): string {
  const r = parseScenarioText(text, file, {
    readFile: (p) => {
      throw new Error(`no file ${p}`);
    },
  });
  assert.equal(r.scenario, undefined, "a bad scenario must not produce a Scenario");
  return formatDiagnostics(r.diagnostics, r.sources);
}

Deno.test("diagnostics: all syntax errors at once, with what was expected", () => {
  const text =
    "host skylake { aperture 512MiB; hypervisor kvm { mmio_exit 2us }\nvm a { type V5_4 run w }\nworkload w { every 16ms { rcs batch { draw 1 } flip }\nvm b { type ; run w }\nexpect fps(a) >=\ntimeline { at pause a; run 5s }\n";
  assert.equal(
    check("syntax.gvt", text),
    `syntax.gvt:2:1: error: expected '}' in the host block but found 'vm'
   2 | vm a { type V5_4 run w }
     | ^~
syntax.gvt:4:1: error: expected '}' in a workload block but found 'vm'
   4 | vm b { type ; run w }
     | ^~
syntax.gvt:4:13: error: expected a name in a vm setting but found ';'
   4 | vm b { type ; run w }
     |             ^
syntax.gvt:5:17: error: unexpected end of line in an expression: expected '-', a number, a name or '('
   5 | expect fps(a) >=
     |                 ^
syntax.gvt:6:15: error: expected a number in a timeline entry but found 'pause'
   6 | timeline { at pause a; run 5s }
     |               ^~~~~
`,
  );
});

Deno.test("diagnostics: unknown and duplicate names, with suggestions", () => {
  const text =
    "vm desktop { type V5_4; run game }\nvm desktop { type V5_8; run game }\nvm batch { type V5_3; run transcod }\nworkload game { at 60fps { rcs batch { draw 400 }; flip } }\nworkload game { flip }\ntimeline { at 1s pause desktp; at 2s frobnicate desktop }\nexpect fps(deskop) >= 55\nexpect lateny(desktop, p99) < 5ms\n";
  assert.equal(
    check("names.gvt", text),
    `names.gvt:2:4: error: duplicate vm 'desktop' (first declared at names.gvt:1)
   2 | vm desktop { type V5_8; run game }
     |    ^~~~~~~
names.gvt:3:17: error: unknown vGPU type 'V5_3'; expected one of: V5_8, V5_4, V5_2, V5_1 (did you mean 'V5_8'?)
   3 | vm batch { type V5_3; run transcod }
     |                 ^~~~
names.gvt:3:27: error: unknown workload 'transcod'; expected one of: game
   3 | vm batch { type V5_3; run transcod }
     |                           ^~~~~~~~
names.gvt:5:10: error: duplicate workload 'game' (first declared at names.gvt:4)
   5 | workload game { flip }
     |          ^~~~
names.gvt:6:24: error: unknown vm 'desktp'; expected one of: desktop, batch (did you mean 'desktop'?)
   6 | timeline { at 1s pause desktp; at 2s frobnicate desktop }
     |                        ^~~~~~
names.gvt:6:38: error: unknown timeline action 'frobnicate'; expected one of: start, stop, pause, resume, reset, weight, policy, migrate, fault, misbehave
   6 | timeline { at 1s pause desktp; at 2s frobnicate desktop }
     |                                      ^~~~~~~~~~
names.gvt:7:12: error: unknown vm 'deskop'; expected one of: desktop, batch (did you mean 'desktop'?)
   7 | expect fps(deskop) >= 55
     |            ^~~~~~
names.gvt:8:8: error: unknown function 'lateny'; expected one of: fps, frames, share, busy, latency, traps, throughput, violations, downtime, counter, gcounter, native_pct, state (did you mean 'latency'?)
   8 | expect lateny(desktop, p99) < 5ms
     |        ^~~~~~
`,
  );
});

Deno.test("diagnostics: names the tables only inherit (toString, constructor) are unknown words", () => {
  // backend costs and params of those names are not duplicates: they are reported as unknown
  // to the backend at run time, like any other name it does not read
  const text =
    "host skylake {\n  invariants toString; refresh 60constructor\n  hypervisor kvm { toString 2us; constructor 1us; param toString on; param constructor 1 }\n}\nvm a { type V5_8; run toString }\nvm b { type V5_8; run w }\nworkload w { loop { rcs batch { draw constructor(1, 2) } } }\n";
  assert.equal(
    check("inherited.gvt", text),
    `inherited.gvt:2:14: error: 'invariants' takes on or off, found 'toString'
   2 |   invariants toString; refresh 60constructor
     |              ^~~~~~~~
inherited.gvt:2:32: error: unknown unit 'constructor' in '60constructor'; expected one of: Hz, fps
   2 |   invariants toString; refresh 60constructor
     |                                ^~~~~~~~~~~~~
inherited.gvt:5:23: error: unknown workload 'toString'; expected one of: w
   5 | vm a { type V5_8; run toString }
     |                       ^~~~~~~~
inherited.gvt:7:38: error: unknown distribution 'constructor'; expected one of: uniform, exp, normal
   7 | workload w { loop { rcs batch { draw constructor(1, 2) } } }
     |                                      ^~~~~~~~~~~
`,
  );
});

Deno.test("diagnostics: a vGPU that no longer fits, with the numbers", () => {
  const text =
    "host { aperture 512MiB }\nvm a { type V5_2; run w }\nvm b[3] { type V5_4; run w }\nworkload w { flip }\n";
  assert.equal(
    check("capacity.gvt", text),
    `capacity.gvt:3:16: error: vm 'b2' does not fit: type V5_4 needs 128 MiB aperture, 512 MiB hidden and 4 fences, but after 2 vGPUs only 0 B aperture, 1.63 GiB hidden, 20 fences and 5 of 7 vGPU ids are free
   3 | vm b[3] { type V5_4; run w }
     |                ^~~~
     = note: host aperture 512 MiB minus 128 MiB kept by the host; GGTT 4 GiB; available instances on an empty host: V5_8: 6, V5_4: 3, V5_2: 1, V5_1: 0
`,
  );
});

Deno.test("diagnostics: unit mismatches and values out of range", () => {
  const text =
    "host { aperture 512MB; refresh 60ms; fences 64; out_of_sync maybe }\nvm a { type V5_4; run w; weight 0; memory 2 }\nworkload w { every 16.7 { think 2MiB }; repeat 2.5 { flip } }\ntimeline { at 12s pause a; run 10s }\nexpect latency(a, p99) < 2MiB\nexpect share(a) within 5ms of 0.5\n";
  assert.equal(
    check("units.gvt", text),
    `units.gvt:1:17: error: unknown unit 'MB' in '512MB'; expected one of: B, KiB, MiB, GiB, TiB (did you mean 'MiB'?)
   1 | host { aperture 512MB; refresh 60ms; fences 64; out_of_sync maybe }
     |                 ^~~~~
units.gvt:1:32: error: unit mismatch: refresh is a rate (Hz, fps) but '60ms' is a time (ns, us, ms, s)
   1 | host { aperture 512MB; refresh 60ms; fences 64; out_of_sync maybe }
     |                                ^~~~
units.gvt:1:45: error: value out of range: fences 64 must be between 1 and 32
   1 | host { aperture 512MB; refresh 60ms; fences 64; out_of_sync maybe }
     |                                             ^~
units.gvt:1:61: error: 'out_of_sync' takes on or off, found 'maybe'
   1 | host { aperture 512MB; refresh 60ms; fences 64; out_of_sync maybe }
     |                                                             ^~~~~
units.gvt:2:33: error: value out of range: weight 0 must be between 1 and 16
   2 | vm a { type V5_4; run w; weight 0; memory 2 }
     |                                 ^
units.gvt:2:43: error: missing unit: memory is a size (B, KiB, MiB, GiB), write e.g. '2MiB'
   2 | vm a { type V5_4; run w; weight 0; memory 2 }
     |                                           ^
units.gvt:3:20: error: missing unit: the period of 'every' is a time (ns, us, ms, s), write e.g. '16.7ms'
   3 | workload w { every 16.7 { think 2MiB }; repeat 2.5 { flip } }
     |                    ^~~~
units.gvt:3:33: error: unit mismatch: think time is a time (ns, us, ms, s) but '2MiB' is a size (B, KiB, MiB, GiB)
   3 | workload w { every 16.7 { think 2MiB }; repeat 2.5 { flip } }
     |                                 ^~~~
units.gvt:3:41: warning: unreachable: the step at line 3 loops forever, so this step never runs
   3 | workload w { every 16.7 { think 2MiB }; repeat 2.5 { flip } }
     |                                         ^~~~~~
units.gvt:3:48: error: repeat count must be a whole number, found '2.5'
   3 | workload w { every 16.7 { think 2MiB }; repeat 2.5 { flip } }
     |                                                ^~~
units.gvt:4:12: error: 'at 12s' is after the end of the run (10s)
   4 | timeline { at 12s pause a; run 10s }
     |            ^~
units.gvt:5:24: error: unit mismatch: the left side is a time (ns, us, ms, s) but the right side is a size (B, KiB, MiB, GiB)
   5 | expect latency(a, p99) < 2MiB
     |                        ^
units.gvt:6:24: error: unit mismatch: the tolerance is a plain number but '5ms' is a time (ns, us, ms, s)
   6 | expect share(a) within 5ms of 0.5
     |                        ^~~
`,
  );
});

Deno.test("diagnostics: result functions: arity, argument kinds, engines, states", () => {
  const text =
    "host { engines rcs bcs }\nvm a { type V5_4; run w }\nworkload w { vcs batch { media 3 } }\nexpect share(a, vcs) > 0.1\nexpect latency(a) < 1ms\nexpect traps(a, mmmio) > 0\nexpect counter(a, name) > 0\nexpect state(a) is exploded\nexpect fps(a) is running\nexpect state(a) > 1\n";
  assert.equal(
    check("calls.gvt", text),
    `calls.gvt:3:14: error: engine 'vcs' is not on this host (engines: rcs bcs)
   3 | workload w { vcs batch { media 3 } }
     |              ^~~
calls.gvt:4:17: error: engine 'vcs' is not on this host (engines: rcs bcs)
   4 | expect share(a, vcs) > 0.1
     |                 ^~~
calls.gvt:5:8: error: latency() takes 2 arguments, found 1: latency(vm, percentile)
   5 | expect latency(a) < 1ms
     |        ^~~~~~~
calls.gvt:6:17: error: unknown trap kind 'mmmio'; expected one of: mmio, gtt, pagetrack, cfg (did you mean 'mmio'?)
   6 | expect traps(a, mmmio) > 0
     |                 ^~~~~
calls.gvt:7:19: error: argument 2 of counter() is a counter name in quotes, found 'name'
   7 | expect counter(a, name) > 0
     |                   ^~~~
calls.gvt:8:20: error: unknown vGPU state 'exploded'; expected one of: running, paused, stopped, failsafe, crashed, idle, failed, rejected
   8 | expect state(a) is exploded
     |                    ^~~~~~~~
calls.gvt:9:15: error: 'is' tests a vGPU state: write 'state(VM) is failsafe'
   9 | expect fps(a) is running
     |               ^~
calls.gvt:10:8: error: state(VM) is only tested with 'is', e.g. 'expect state(evil) is failsafe'
  10 | expect state(a) > 1
     |        ^~~~~
`,
  );
});

Deno.test("diagnostics: lexical errors and trailing junk", () => {
  const text =
    'vm a { type V5_4; run w }\nworkload w { flip }\nscenario "unterminated\nexpect fps(a) >= 5 @ 3\n';
  assert.equal(
    check("lex.gvt", text),
    `lex.gvt:3:10: error: unterminated string: expected a closing '"' on the same line
   3 | scenario "unterminated
     |          ^
lex.gvt:4:20: error: unexpected character '@'
   4 | expect fps(a) >= 5 @ 3
     |                    ^
lex.gvt:4:22: error: unexpected '3': expected a declaration (scenario, seed, include, param, host, type, vm, workload, timeline, expect or report)
   4 | expect fps(a) >= 5 @ 3
     |                      ^
`,
  );
});

Deno.test("diagnostics: include errors are located at the include line", () => {
  const text = 'include "missing.gvt"\nvm a { type V5_4; run w }\nworkload w { flip }\n';
  assert.equal(
    check("dir/main.gvt", text),
    `dir/main.gvt:1:9: error: cannot read include file 'missing.gvt' (resolved to 'dir/missing.gvt'): no file dir/missing.gvt
   1 | include "missing.gvt"
     |         ^~~~~~~~~~~~~
`,
  );
});

Deno.test("diagnostics: colour output wraps the severity in ANSI codes", () => {
  const r = parseScenarioText("vm a { type V5_4; run nowhere }", "c.gvt");
  const s = formatDiagnostics(r.diagnostics, r.sources, { color: true });
  assert.ok(s.includes("\x1b[1;31merror\x1b[0m"), s);
  assert.equal(formatDiagnostics([], r.sources), "");
});

Deno.test("diagnostics: an unreadable main file is a diagnostic, not an exception", async () => {
  const { loadScenario } = await import("../dsl/mod.ts");
  const r = loadScenario("nowhere.gvt", {
    readFile: () => {
      throw new Error("denied");
    },
  });
  assert.equal(r.scenario, undefined);
  assert.equal(
    formatDiagnostics(r.diagnostics, r.sources),
    "nowhere.gvt:1:1: error: cannot read 'nowhere.gvt': denied\n",
  );
});
