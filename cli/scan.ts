/**
 * `gvtsim scan`: would GVT-g accept this command stream? Reads whitespace-separated dwords
 * (0x hex or decimal; `#` starts a comment), decodes them for one engine and judges every
 * command by the platform's scanner rules (core/gvt/cmd_audit.ts), without a scenario.
 * Batch buffers are not followed (there is no memory behind the addresses); a privileged
 * batch start is judged by its address. Exit 0 when everything is accepted, 1 when
 * something is rejected, 2 for bad input.
 */

import { decode } from "../core/cmd/table.ts";
import { type AuditEnv, auditStream, BUF_BB1, BUF_RING } from "../core/gvt/cmd_audit.ts";
import { VIOLATION_TABLE, violationIsFatal } from "../core/gvt/counters.ts";
import { GmPartition } from "../core/gvt/resources.ts";
import { MAX_BATCH_DWORDS, updateRegWhitelist } from "../core/gvt/scanner.ts";
import { engineIdOf } from "../core/hw/engines.ts";
import { type Platform, PLATFORM_IDS, platformOf } from "../core/hw/platform.ts";
import { cmdAccessOffsets } from "../core/hw/regdefs.ts";
import { defaultHostSpec, ENGINE_NAMES } from "../core/scenario.ts";
import { builtinTypes } from "../core/vgpu_types.ts";
import { readBounded, readBoundedFile } from "../dsl/limits.ts";
import { planOutputs, writeAtomic } from "./output.ts";

/** What the size limits call the input. */
const STREAM = "a command stream";

/** Options of `gvtsim scan`. */
export interface ScanCliOptions {
  /** Platform name (default skylake). */
  platform?: string;
  /** Engine name (default rcs). */
  engine?: string;
  /** Graphics address ranges "START-END" the vGPU owns (default: a first V5_4's slices). */
  gmRanges?: readonly string[];
  /** Judge the stream as a first-level batch buffer instead of a ring. */
  batch?: boolean;
  /** Write the verdicts as JSON to this path (- for stdout). */
  json?: string;
  /** Output sinks (tests capture them). */
  out?: (s: string) => void;
  /** Error sink. */
  err?: (s: string) => void;
  /** Reads a file or stdin ("-"). */
  read?: (path: string) => Promise<string>;
}

/** One judged command, as `--json` writes it. */
export interface ScanVerdict {
  /** Dword index. */
  at: number;
  /** Command name (null: undecodable). */
  command: string | null;
  /** Length in dwords. */
  length: number;
  /** "accepted" or "rejected". */
  verdict: "accepted" | "rejected";
  /** Violation kind of a rejection. */
  kind?: string;
  /** What was wrong. */
  reason?: string;
  /** The upstream function whose rule refused it. */
  rule?: string;
  /** The errno upstream returns. */
  errno?: string;
  /** True if the rejection puts the vGPU in failsafe. */
  failsafe?: boolean;
}

/**
 * The most text `gvtsim scan` reads: a stream of {@link MAX_BATCH_DWORDS} dwords (the
 * longest batch the mediator shadows) written as `0x` hex with a separator is 11 MiB.
 */
export const MAX_SCAN_BYTES = 16 * 1024 * 1024;

/** A bad input: exit code 2 with this message. */
class ScanInputError extends Error {}

/** The slices the first V5_4 vGPU gets on a default host (512 MiB aperture, 4 GiB GGTT). */
export function defaultSlices(): [number, number][] {
  const part = new GmPartition(defaultHostSpec());
  const r = part.allocate(builtinTypes("V5")[1]);
  if (!("aperture" in r)) throw new Error("the default host has no room for a V5_4");
  return [
    [r.aperture.base, r.aperture.base + r.aperture.size],
    [r.hidden.base, r.hidden.base + r.hidden.size],
  ];
}

function parseNumber(t: string): number | undefined {
  const n = /^0x[0-9a-f]+$/i.test(t)
    ? parseInt(t.slice(2), 16)
    : /^[0-9]+$/.test(t)
    ? Number(t)
    : NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** `START-END` (0x hex or decimal; END exclusive). */
function parseRange(s: string): [number, number] {
  const m = /^([^-]+)-([^-]+)$/.exec(s);
  const a = m ? parseNumber(m[1]) : undefined, b = m ? parseNumber(m[2]) : undefined;
  if (a === undefined || b === undefined || b <= a || b > 2 ** 48) {
    throw new ScanInputError(
      `--gm-range '${s}' is not START-END with START < END (0x hex or decimal graphics addresses)`,
    );
  }
  return [a, b];
}

/** Parses the dwords of `text` (from `file`), or throws a located ScanInputError. */
export function parseDwords(text: string, file: string): Uint32Array {
  const out: number[] = [];
  text.split("\n").forEach((line, i) => {
    const code = line.replace(/#.*/, "");
    for (const m of code.matchAll(/\S+/g)) {
      const v = parseNumber(m[0]);
      if (v === undefined || v > 0xffffffff) {
        const col = m.index! + 1;
        throw new ScanInputError(
          `${file}:${i + 1}:${col}: error: '${
            m[0]
          }' is not a dword; expected 0x hex or decimal below 2^32\n` +
            `  ${line}\n  ${" ".repeat(col - 1)}${"^".repeat(m[0].length)}`,
        );
      }
      if (out.length === MAX_BATCH_DWORDS) {
        throw new ScanInputError(
          `${file}:${
            i + 1
          }: error: more than ${MAX_BATCH_DWORDS} dwords, the longest batch GVT-g shadows`,
        );
      }
      out.push(v);
    }
  });
  if (out.length === 0) throw new ScanInputError(`${file}: no dwords to scan`);
  return Uint32Array.from(out);
}

/** Judges `dwords` on `platform` / `engine` against `ranges`; the verdicts in stream order. */
export function scanDwords(
  dwords: Uint32Array,
  platform: Platform,
  engine: number,
  ranges: readonly [number, number][],
  batch = false,
): ScanVerdict[] {
  const cmd = new Set(cmdAccessOffsets(platform));
  updateRegWhitelist(platform, (off) => cmd.add(off)); // as once a vGPU exists
  const env: AuditEnv = {
    platform,
    engine,
    cmdAccessible: (off) => cmd.has(off),
    inSlices: (gma, size) => ranges.some(([a, b]) => gma >= a && gma + size <= b),
  };
  const type = batch ? BUF_BB1 : BUF_RING;
  return auditStream(dwords, (dw0) => decode(dw0, engine), env, type).map((e) => {
    if (!e.refusal) return { at: e.at, command: e.name, length: e.length, verdict: "accepted" };
    const errno = VIOLATION_TABLE.find((v) => v.kind === e.refusal!.kind)!.errno;
    return {
      at: e.at,
      command: e.name,
      length: e.length,
      verdict: "rejected",
      kind: e.refusal.kind,
      reason: e.refusal.detail,
      rule: e.refusal.rule,
      errno: `-${errno}`,
      failsafe: violationIsFatal(e.refusal.kind),
    };
  });
}

function hex(n: number): string {
  return "0x" + n.toString(16);
}

/** One text line per command. */
function textLine(v: ScanVerdict): string {
  const head = `${String(v.at).padStart(6)}  ${(v.command ?? "(undecodable)").padEnd(34)}`;
  if (v.verdict === "accepted") return `${head} accepted`;
  const outcome = v.failsafe ? "failsafe" : "the workload fails";
  return `${head} rejected: ${v.reason} (${v.rule}, ${v.errno}: ${outcome})`;
}

/** Runs `gvtsim scan`; returns the exit code. */
export async function scanCommand(file: string, o: ScanCliOptions = {}): Promise<number> {
  const out = o.out ?? ((s: string) => console.log(s));
  const err = o.err ?? ((s: string) => console.error(s));
  const read = o.read ?? ((p: string) =>
    Promise.resolve(
      p === "-"
        ? readBounded(Deno.stdin, MAX_SCAN_BYTES, STREAM)
        : readBoundedFile(p, MAX_SCAN_BYTES, STREAM),
    ));
  try {
    const platform = platformOf(o.platform ?? "skylake");
    if (!platform) {
      throw new ScanInputError(
        `unknown platform '${o.platform}'; expected one of: ${PLATFORM_IDS.join(", ")}`,
      );
    }
    const engine = engineIdOf(o.engine ?? "rcs");
    if (engine < 0 || !platform.engines.includes(ENGINE_NAMES[engine])) {
      throw new ScanInputError(
        `unknown engine '${o.engine}'; expected one of: ${platform.engines.join(", ")}`,
      );
    }
    const ranges = o.gmRanges && o.gmRanges.length ? o.gmRanges.map(parseRange) : defaultSlices();
    if (o.json !== undefined) {
      const bad = planOutputs([{ flag: "--json", path: o.json, stdoutOk: true }], [file]);
      if (bad) throw new ScanInputError(bad.message);
    }
    let text: string;
    try {
      text = await read(file);
    } catch (e) {
      throw new ScanInputError(`cannot read ${file}: ${e instanceof Error ? e.message : e}`);
    }
    const verdicts = scanDwords(parseDwords(text, file), platform, engine, ranges, o.batch);
    const rejected = verdicts.filter((v) => v.verdict === "rejected").length;
    if (o.json !== undefined) {
      const doc = {
        schema: "gvtsim.scan/1",
        platform: platform.id,
        engine: ENGINE_NAMES[engine],
        buffer: o.batch ? "batch" : "ring",
        gmRanges: ranges.map(([a, b]) => [hex(a), hex(b)]),
        accepted: rejected === 0,
        commands: verdicts,
      };
      const json = JSON.stringify(doc, null, 2) + "\n";
      if (o.json === "-") out(json.trimEnd());
      else writeAtomic(o.json, json);
    }
    if (o.json !== "-") {
      const where = ranges.map(([a, b]) => `${hex(a)}-${hex(b)}`).join(", ");
      out(`scan ${file}: ${platform.id}, engine ${ENGINE_NAMES[engine]}, slices ${where}`);
      out(`${"dword".padStart(6)}  ${"command".padEnd(34)} verdict`);
      for (const v of verdicts) out(textLine(v));
      out(
        `${verdicts.length} command(s), ${rejected} rejected: ${
          rejected === 0 ? "GVT-g would accept this stream" : "GVT-g would refuse this stream"
        }`,
      );
    }
    return rejected === 0 ? 0 : 1;
  } catch (e) {
    if (e instanceof ScanInputError) {
      err(`gvtsim scan: ${e.message}`);
      return 2;
    }
    throw e;
  }
}
