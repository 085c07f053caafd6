import assert from "node:assert/strict";
import {
  csvField,
  csvOutputs,
  csvText,
  seriesCsv,
  seriesCsvPath,
  trapKinds,
  vmCsv,
} from "../cli/csv.ts";
import { demoResults, FIXTURE_SAMPLES } from "./fixtures/results_demo.ts";

/** A strict RFC 4180 reader: CRLF records, quoted fields with doubled quotes. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  while (i < text.length) {
    let field = "";
    if (text[i] === '"') {
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        assert.ok(q >= 0, "unterminated quoted field");
        field += text.slice(i, q);
        i = q + 1;
        if (text[i] === '"') {
          field += '"';
          i++;
        } else break;
      }
    } else {
      while (i < text.length && text[i] !== "," && text[i] !== "\r") {
        assert.notEqual(text[i], '"', "bare quote in an unquoted field");
        assert.notEqual(text[i], "\n", "bare LF");
        field += text[i++];
      }
    }
    row.push(field);
    if (text[i] === ",") i++;
    else {
      assert.equal(text.slice(i, i + 2), "\r\n", `record must end with CRLF at ${i}`);
      i += 2;
      rows.push(row);
      row = [];
    }
  }
  return rows;
}

const results = demoResults();

Deno.test("csv: fields are quoted only when needed, quotes doubled", () => {
  assert.equal(csvField("plain"), "plain");
  assert.equal(csvField(0.25), "0.25");
  assert.equal(csvField(undefined), "");
  assert.equal(csvField(NaN), "");
  assert.equal(csvField("a,b"), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField("two\nlines"), '"two\nlines"');
  assert.equal(csvField("cr\r"), '"cr\r"');
  assert.equal(csvText([["a", 1], ["b,c", undefined]]), 'a,1\r\n"b,c",\r\n');
  assert.deepEqual(parseCsv(csvText([['x"y', "1\r\n2", ""]])), [['x"y', "1\r\n2", ""]]);
});

Deno.test("csv: per-VM table has one row per VM with the documented columns", () => {
  const rows = parseCsv(vmCsv(results));
  assert.equal(rows.length, results.vms.length + 1);
  const head = rows[0];
  assert.deepEqual(head.slice(0, 10), [
    "name",
    "type",
    "hypervisor",
    "state",
    "state_reason",
    "weight",
    "share_rcs",
    "share_bcs",
    "share_vcs",
    "share_vecs",
  ]);
  assert.deepEqual(head.slice(10), [
    "fps",
    "frames",
    "submitted",
    "completed",
    "throughput",
    "latency_p50_ns",
    "latency_p90_ns",
    "latency_p99_ns",
    "latency_max_ns",
    "traps_mmio",
    "traps_gtt",
    "traps_pagetrack",
    "traps_cfg",
    "traps_total",
    "native_pct",
  ]);
  for (const r of rows) assert.equal(r.length, head.length);
  const col = (name: string) => head.indexOf(name);
  results.vms.forEach((vm, i) => {
    const r = rows[i + 1];
    assert.equal(r[col("name")], vm.name);
    assert.equal(r[col("state")], vm.state);
    assert.equal(r[col("state_reason")], vm.stateReason ?? "");
    assert.equal(Number(r[col("share_vcs")]), vm.engines.vcs.share);
    assert.equal(Number(r[col("latency_p99_ns")]), vm.latency.p99);
    assert.equal(Number(r[col("traps_total")]), vm.traps.total);
    assert.equal(r[col("native_pct")], vm.nativePct === undefined ? "" : String(vm.nativePct));
  });
  // The failsafe reason holds a comma and quotes: it must come back intact.
  assert.match(rows[4][col("state_reason")], /, "not allowed"$/);
});

Deno.test("csv: extra trap kinds get columns after the standard ones, before total", () => {
  const r = demoResults();
  r.vms[1].traps.zeta = 3;
  r.vms[2].traps.alpha = 5;
  assert.deepEqual(trapKinds(r), ["mmio", "gtt", "pagetrack", "cfg", "alpha", "zeta", "total"]);
  const rows = parseCsv(vmCsv(r));
  const a = rows[0].indexOf("traps_alpha");
  assert.deepEqual(rows.slice(1).map((row) => row[a]), ["0", "0", "5", "0"]);
});

Deno.test("csv: series has t_ms then share and queue per VM, one row per sample", () => {
  const rows = parseCsv(seriesCsv(results));
  assert.equal(rows.length, FIXTURE_SAMPLES + 1);
  assert.deepEqual(rows[0], [
    "t_ms",
    "desktop_share",
    "desktop_queue",
    "video_share",
    "video_queue",
    "cad_share",
    "cad_queue",
    "rogue_share",
    "rogue_queue",
  ]);
  assert.equal(Number(rows[1][0]), results.series.t[0] / 1e6);
  assert.equal(Number(rows[FIXTURE_SAMPLES][0]), results.simulatedNs / 1e6);
  assert.equal(Number(rows[50][5]), results.series.share.cad[49]);
  assert.equal(Number(rows[50][8]), results.series.queue.rogue[49]);
});

Deno.test("csv: output files and determinism", () => {
  assert.equal(seriesCsvPath("out/run.csv"), "out/run.series.csv");
  assert.equal(seriesCsvPath("out/run.CSV"), "out/run.series.csv");
  assert.equal(seriesCsvPath("out/run"), "out/run.series.csv");
  const files = csvOutputs("out/run.csv", results);
  assert.deepEqual(files.map((f) => f.path), ["out/run.csv", "out/run.series.csv"]);
  assert.equal(files[0].text, vmCsv(demoResults()));
  assert.equal(files[1].text, seriesCsv(demoResults()));
});
