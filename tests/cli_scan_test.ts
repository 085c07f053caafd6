/**
 * `gvtsim scan` through the real CLI (a subprocess): verdicts per command with the upstream
 * rule, per platform and engine, --gm-range, --json, stdin, and exit codes 0 / 1 / 2.
 */
import assert from "node:assert/strict";
import { MAX_SCAN_BYTES, type ScanCliOptions, scanCommand } from "../cli/scan.ts";
import { MAX_BATCH_DWORDS } from "../core/gvt/scanner.ts";
import * as enc from "../core/cmd/encode.ts";
import { POST_SYNC_OP } from "../core/cmd/fields.ts";
import { csGpr, RCS } from "../core/hw/regs.ts";
import { gvtsimTask, taskFlags } from "./task_util.ts";

/** `gvtsim ARGS` with the task's permissions, `stdin` fed to it. */
const gvtsim = (args: string[], stdin = "") => gvtsimTask(args, { stdin });

// MI_LOAD_REGISTER_IMM (RING_MODE), SRM of CACHE_MODE_1 to the slices, MI_OP_2E, BB_END.
const STREAM = `
0x11000001 0x229c 0x80008000   # LRI RING_MODE_GEN7: whitelisted everywhere
0x12400002 0x7004 0x08000000 0 # SRM CACHE_MODE_1: -EPERM (SRM/LRM only L3SQCREG4, 0x21f0)
0x05000000                     # MI_BATCH_BUFFER_END
`;

Deno.test("scan: a verdict per command with the upstream rule; exit 1 when something is rejected", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const f = `${dir}/s.txt`;
    await Deno.writeTextFile(f, STREAM);
    const r = await gvtsim(["scan", f]);
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /MI_LOAD_REGISTER_IMM\s+accepted/);
    assert.match(
      r.out,
      /MI_STORE_REGISTER_MEM\s+rejected: MI_STORE_REGISTER_MEM may not access register 0x7004 \(cmd_parser.c cmd_reg_handler, -EPERM: the workload fails\)/,
    );
    assert.match(r.out, /3 command\(s\), 1 rejected/);
    const ok = await gvtsim(["scan", "-"], "0x11000001 0x229c 0x80008000\n0x05000000\n");
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /GVT-g would accept this stream/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("scan: platform and engine differ where upstream does (MOCS on gen9, LRR 0x215c on Broadwell)", async () => {
  const mocs = "0x11000001 0xc800 1\n";
  assert.equal((await gvtsim(["scan", "-"], mocs)).code, 0);
  const bdw = await gvtsim(["scan", "--platform", "broadwell", "-"], mocs);
  assert.equal(bdw.code, 1);
  assert.match(bdw.out, /not whitelisted on broadwell/);
  const lrr = "0x15000001 0x215c 0x215c\n";
  assert.equal((await gvtsim(["scan", "--platform", "broadwell", "-"], lrr)).code, 0);
  assert.equal((await gvtsim(["scan", "--platform", "kabylake", "-"], lrr)).code, 1);
  const blit = "0x54f00008 0x03cc0100 0 0x00100040 0x08000000 0 0 0x100 0x08001000 0\n";
  assert.equal((await gvtsim(["scan", "--engine", "bcs", "-"], blit)).code, 0);
  const onRcs = await gvtsim(["scan", "--engine", "rcs", "-"], blit);
  assert.equal(onRcs.code, 1, "a blit does not decode on the render engine");
  assert.match(onRcs.out, /\(undecodable\)\s+rejected: unknown command/);
});

Deno.test("scan: the whitelist includes what the default context images load (intel_gvt_update_reg_whitelist: VF_GUARDBAND on gen9)", async () => {
  const guardband = "0x11000001 0x83a4 0x10001\n";
  for (const p of ["skylake", "kabylake", "coffeelake", "broadwell"]) {
    assert.equal((await gvtsim(["scan", "--platform", p, "-"], guardband)).code, 0, p);
  }
  const hwsPga = await gvtsim(["scan", "-"], "0x11000001 0x2080 0\n");
  assert.equal(hwsPga.code, 1, "a register no image loads stays refused");
});

Deno.test("scan: --gm-range sets the slices; --json; bad input exits 2", async () => {
  const sdi = "0x10400002 0x20000000 0 7\n"; // MI_STORE_DATA_IMM (GGTT) to 0x20000000
  const def = await gvtsim(["scan", "--json", "-", "-"], sdi);
  assert.equal(def.code, 1);
  const doc = JSON.parse(def.out);
  assert.equal(doc.schema, "gvtsim.scan/1");
  assert.equal(doc.accepted, false);
  assert.deepEqual(doc.commands[0], {
    at: 0,
    command: "MI_STORE_DATA_IMM",
    length: 4,
    verdict: "rejected",
    kind: "address",
    reason: "MI_STORE_DATA_IMM writes 0x20000000 (+4) outside the vGPU's slices",
    rule: "cmd_parser.c cmd_address_audit",
    errno: "-EFAULT",
    failsafe: true,
  });
  const own = await gvtsim(["scan", "--gm-range", "0x20000000-0x20001000", "-"], sdi);
  assert.equal(own.code, 0, own.out);
  const bad = await gvtsim(["scan", "-"], "0x11000001 0x100000000\n");
  assert.equal(bad.code, 2);
  assert.match(bad.err, /-:1:12: error: '0x100000000' is not a dword/);
  // The other refusals in-process, through the same command function.
  for (
    const [o, input, re] of [
      [{ platform: "haswell" }, "0\n", /unknown platform 'haswell'/],
      [{ engine: "vcs2" }, "0\n", /unknown engine 'vcs2'/],
      [{ gmRanges: ["10-5"] }, "0\n", /--gm-range '10-5' is not START-END/],
      [{}, "# nothing\n", /no dwords to scan/],
    ] as [ScanCliOptions, string, RegExp][]
  ) {
    const err: string[] = [];
    const code = await scanCommand("-", {
      ...o,
      out: () => {},
      err: (x) => err.push(x),
      read: () => Promise.resolve(input),
    });
    assert.equal(code, 2, JSON.stringify(o));
    assert.match(err.join("\n"), re);
  }
  const err: string[] = [];
  assert.equal(await scanCommand("/nonexistent/x.txt", { err: (x) => err.push(x) }), 2);
  assert.match(err[0], /cannot read \/nonexistent\/x.txt/);
});

Deno.test("scan: input is bounded: /dev/zero, an endless stdin, a huge file, too many dwords exit 2", async () => {
  // a device is not a regular file: refused before anything is read
  const dev = await gvtsim(["scan", "/dev/zero"]);
  assert.equal(dev.code, 2);
  assert.match(dev.err, /cannot read \/dev\/zero: not a regular file/);
  // an endless standard input stops one byte past the limit
  const root = new URL("..", import.meta.url).pathname;
  const endless = await new Deno.Command("sh", {
    args: [
      "-c",
      `exec "$@" scan - < /dev/zero`,
      "sh",
      Deno.execPath(),
      "run",
      ...taskFlags(),
      `${root}main.ts`,
    ],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(endless.code, 2);
  const msg = new TextDecoder().decode(endless.stderr);
  assert.match(msg, /cannot read -: larger than 16384 KiB, the limit of a command stream/);
  const dir = await Deno.makeTempDir();
  try {
    // a sparse file past the limit
    const big = `${dir}/big.txt`;
    using f = await Deno.create(big);
    await f.truncate(MAX_SCAN_BYTES + 1);
    const err: string[] = [];
    assert.equal(await scanCommand(big, { out: () => {}, err: (x) => err.push(x) }), 2);
    assert.match(err[0], /larger than 16384 KiB, the limit of a command stream/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // within the byte limit but more dwords than the longest batch the mediator shadows
  const err: string[] = [];
  const code = await scanCommand("-", {
    out: () => {},
    err: (x) => err.push(x),
    read: () => Promise.resolve("0 ".repeat(MAX_BATCH_DWORDS + 1)),
  });
  assert.equal(code, 2);
  assert.match(err[0], /-:1: error: more than 1048576 dwords, the longest batch GVT-g shadows/);
});

Deno.test("scan: the issue's scanner rules through the CLI (cmd_reg_handler CS_GPR, cmd_handler_mi_op_2e, cmd_handler_mi_op_2f, cmd_handler_pipe_control)", async () => {
  const buf = new Uint32Array(64);
  let o = 0;
  const at: number[] = [];
  const put = (emit: (b: Uint32Array, at: number) => number) => {
    at.push(o);
    o = emit(buf, o);
  };
  put((b, i) => enc.emitLri(b, i, csGpr(RCS, 0), 1)); // CS_GPR: F_CMD_ACCESS on Broxton only
  put((b, i) => enc.emitMemToMem(b, i, 0x1000, 0x2000)); // MI_OP_2E: always rejected
  put((b, i) => enc.emitAtomic(b, i, 0x1000, 1, true)); // MI_ATOMIC via the GGTT: audited
  put((b, i) => enc.emitAtomic(b, i, 0x1000, 1, false)); // via the PPGTT: not audited
  put((b, i) => {
    const n = enc.emitPipeControl(b, i, 0, 0x1000, 0, true, false);
    b[i + 1] = (b[i + 1] & ~POST_SYNC_OP.mask | enc.PIPE_CONTROL_WRITE_TIMESTAMP) >>> 0;
    return n;
  }); // a timestamp post-sync write: only post-sync 1 is audited
  const text = Array.from(buf.subarray(0, o), (d) => "0x" + d.toString(16)).join(" ");
  const r = await gvtsim(["scan", "--json", "-", "-"], text);
  assert.equal(r.code, 1, r.err);
  const doc = JSON.parse(r.out);
  const v = (i: number) => doc.commands.find((c: { at: number }) => c.at === at[i]);
  assert.equal(v(0).command, "MI_LOAD_REGISTER_IMM");
  assert.equal(v(0).rule, "cmd_parser.c cmd_reg_handler");
  assert.equal(v(0).errno, "-EBADRQC");
  assert.equal(v(1).command, "MI_OP_2E");
  assert.equal(v(1).verdict, "rejected");
  assert.equal(v(1).errno, "-EBADRQC");
  assert.equal(v(2).command, "MI_OP_2F");
  assert.equal(v(2).rule, "cmd_parser.c cmd_address_audit");
  assert.equal(v(3).verdict, "accepted");
  assert.equal(v(4).command, "PIPE_CONTROL");
  assert.equal(v(4).verdict, "accepted");
});
