/**
 * `gvtsim lsp` driven as an editor drives it: a subprocess speaking LSP (Content-Length framed
 * JSON-RPC) over stdio, with the CLI's own permissions.
 */
// deno-lint-ignore-file no-explicit-any
import assert from "node:assert/strict";

const main = new URL("../main.ts", import.meta.url).pathname;
const root = new URL("..", import.meta.url).pathname;

type Msg = { id?: number; method?: string; params?: any; result?: any; error?: any };

/** A minimal LSP client: frames requests, collects responses and notifications. */
class Client {
  private proc: Deno.ChildProcess;
  private writer: WritableStreamDefaultWriter<Uint8Array>;
  private buf = new Uint8Array(0);
  private nextId = 1;
  private waiting = new Map<number, (m: Msg) => void>();
  readonly notes: Msg[] = [];
  private noteWaiters: { pred: (m: Msg) => boolean; resolve: (m: Msg) => void }[] = [];
  private reading: Promise<void>;

  constructor() {
    this.proc = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-env=NO_COLOR,HOME,GVTSIM_HISTORY,XDG_RUNTIME_DIR",
        main,
        "lsp",
      ],
      cwd: root,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.writer = this.proc.stdin.getWriter();
    this.reading = this.read();
  }

  private async read(): Promise<void> {
    const dec = new TextDecoder();
    for await (const chunk of this.proc.stdout) {
      const b = new Uint8Array(this.buf.length + chunk.length);
      b.set(this.buf);
      b.set(chunk, this.buf.length);
      this.buf = b;
      for (;;) {
        const head = dec.decode(this.buf.slice(0, Math.min(this.buf.length, 200)));
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) break;
        const len = Number(/Content-Length: (\d+)/i.exec(head)?.[1]);
        const start = end + 4;
        if (this.buf.length < start + len) break;
        const msg = JSON.parse(dec.decode(this.buf.slice(start, start + len))) as Msg;
        this.buf = this.buf.slice(start + len);
        if (msg.id !== undefined && msg.method === undefined) this.waiting.get(msg.id)?.(msg);
        else {
          this.notes.push(msg);
          this.noteWaiters = this.noteWaiters.filter((w) => !(w.pred(msg) && (w.resolve(msg), 1)));
        }
      }
    }
  }

  private send(m: Record<string, unknown>): Promise<void> {
    const body = new TextEncoder().encode(JSON.stringify({ jsonrpc: "2.0", ...m }));
    const head = new TextEncoder().encode(`Content-Length: ${body.length}\r\n\r\n`);
    const all = new Uint8Array(head.length + body.length);
    all.set(head);
    all.set(body, head.length);
    return this.writer.write(all);
  }

  async request(method: string, params: unknown): Promise<any> {
    const id = this.nextId++;
    const done = new Promise<Msg>((r) => this.waiting.set(id, r));
    await this.send({ id, method, params });
    const m = await done;
    assert.equal(m.error, undefined, JSON.stringify(m.error));
    return m.result;
  }

  notify(method: string, params: unknown): Promise<void> {
    return this.send({ method, params });
  }

  /** The next notification matching `pred` (or one already received and not yet taken). */
  waitFor(pred: (m: Msg) => boolean): Promise<Msg> {
    const i = this.notes.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.notes.splice(i, 1)[0]);
    return new Promise((resolve) =>
      this.noteWaiters.push({
        pred,
        resolve: (m) => {
          this.notes.splice(this.notes.indexOf(m), 1);
          resolve(m);
        },
      })
    );
  }

  async close(): Promise<number> {
    await this.request("shutdown", null);
    await this.notify("exit", null);
    await this.writer.close();
    await this.reading;
    return (await this.proc.status).code;
  }
}

const uri = (p: string) => "file://" + root + p;
const diagnosticsFor = (u: string, version?: number) => (m: Msg) =>
  m.method === "textDocument/publishDiagnostics" && m.params.uri === u &&
  (version === undefined || m.params.version === version);

const BROKEN = [
  "host skylake { scheduler gvt }",
  "vm desktop { type V5_4; run gam }",
  "workload game { at 60fps { rcs batch { draw 4 }; flip } }",
  "expect fps(desktop) >= 30",
  "",
].join("\n");

Deno.test("lsp: an opened scenario with an error gets located diagnostics; fixing it clears them", async () => {
  const c = new Client();
  const init = await c.request("initialize", {
    processId: null,
    rootUri: uri(""),
    capabilities: {},
  });
  assert.equal(init.serverInfo.name, "gvtsim");
  assert.ok(init.capabilities.completionProvider);
  await c.notify("initialized", {});
  const u = uri("scratch/broken.gvt");
  await c.notify("textDocument/didOpen", {
    textDocument: { uri: u, languageId: "gvt", version: 1, text: BROKEN },
  });
  const d1 = await c.waitFor(diagnosticsFor(u, 1));
  assert.equal(d1.params.diagnostics.length, 1);
  const d = d1.params.diagnostics[0];
  assert.equal(d.severity, 1);
  assert.match(d.message, /unknown workload 'gam'.*did you mean 'game'/);
  assert.deepEqual(d.range, {
    start: { line: 1, character: 28 },
    end: { line: 1, character: 31 },
  });
  // the change fixes it: an empty list replaces the error
  await c.notify("textDocument/didChange", {
    textDocument: { uri: u, version: 2 },
    contentChanges: [{
      range: { start: { line: 1, character: 28 }, end: { line: 1, character: 31 } },
      text: "game",
    }],
  });
  const d2 = await c.waitFor(diagnosticsFor(u, 2));
  assert.deepEqual(d2.params.diagnostics, []);
  assert.equal(await c.close(), 0);
});

Deno.test("lsp: completion, hover, definition and symbols on a shipped scenario", async () => {
  const c = new Client();
  await c.request("initialize", { processId: null, rootUri: uri(""), capabilities: {} });
  await c.notify("initialized", {});
  const u = uri("scenarios/kvm_vs_xen.gvt");
  const text = Deno.readTextFileSync(root + "scenarios/kvm_vs_xen.gvt");
  await c.notify("textDocument/didOpen", {
    textDocument: { uri: u, languageId: "gvt", version: 1, text },
  });
  const diags = await c.waitFor(diagnosticsFor(u));
  assert.deepEqual(diags.params.diagnostics, [], "a shipped scenario is clean");
  const lines = text.split("\n");
  const at = (re: RegExp, word: string) => {
    const line = lines.findIndex((l) => re.test(l));
    assert.ok(line >= 0, String(re));
    return { line, character: lines[line].indexOf(word, lines[line].search(re)) + 1 };
  };

  // symbols: every top-level item of the file, with ranges that hold their names
  const syms = await c.request("textDocument/documentSymbol", { textDocument: { uri: u } });
  const names = syms.map((s: { name: string }) => s.name);
  assert.ok(names.includes('include "kvm_vs_xen_common.gvt"'), names.join(" | "));
  assert.ok(names.some((n: string) => n.startsWith("host")));

  // definition of a VM declared in the included file
  const common = Deno.readTextFileSync(root + "scenarios/kvm_vs_xen_common.gvt");
  const vmLine = common.split("\n").findIndex((l) => /^vm desktop/.test(l));
  const last = lines.length - 1; // the text ends with a newline: its last line is empty
  await c.notify("textDocument/didChange", {
    textDocument: { uri: u, version: 2 },
    contentChanges: [{ text: text + "expect fps(desktop) >= 1\n" }],
  });
  const def = await c.request("textDocument/definition", {
    textDocument: { uri: u },
    position: { line: last, character: 13 },
  });
  assert.equal(def.uri, uri("scenarios/kvm_vs_xen_common.gvt"));
  assert.equal(def.range.start.line, vmLine);

  // hover: a function and a keyword
  const hv = await c.request("textDocument/hover", {
    textDocument: { uri: u },
    position: { line: last, character: 8 },
  });
  assert.match(hv.contents.value, /fps\(vm\).*frames \(flips\) per second/s);
  const hostPos = at(/^host/, "host");
  const hk = await c.request("textDocument/hover", {
    textDocument: { uri: u },
    position: { line: hostPos.line, character: 1 },
  });
  assert.match(hk.contents.value, /host \[GPU\]/);

  // completion: argument-aware inside a call, and at the start of a host statement
  await c.notify("textDocument/didChange", {
    textDocument: { uri: u, version: 3 },
    contentChanges: [{ text: text + "expect latency(desktop, " }],
  });
  const comp = await c.request("textDocument/completion", {
    textDocument: { uri: u },
    position: { line: lines.length - 1, character: 24 },
  });
  const labels = (comp.items ?? comp).map((i: { label: string }) => i.label);
  assert.deepEqual(labels, ["p50", "p90", "p99", "max"]);
  await c.notify("textDocument/didChange", {
    textDocument: { uri: u, version: 4 },
    contentChanges: [{ text: "host skylake {\n  \n}\nvm a { run toString " }],
  });
  const inHost = await c.request("textDocument/completion", {
    textDocument: { uri: u },
    position: { line: 1, character: 2 },
  });
  const hostLabels = (inHost.items ?? inHost).map((i: { label: string }) => i.label);
  assert.ok(hostLabels.includes("hypervisor") && hostLabels.includes("aperture"), hostLabels);
  assert.ok(!hostLabels.includes("workload"));
  // a word that is only an inherited property of the doc tables means nothing
  const nothing = await c.request("textDocument/hover", {
    textDocument: { uri: u },
    position: { line: 3, character: 13 },
  });
  assert.equal(nothing, null);
  assert.equal(await c.close(), 0);
});

Deno.test("lsp: names objects inherit are declarations like any other; __proto__ is an error where used", async () => {
  const c = new Client();
  await c.request("initialize", { processId: null, rootUri: uri(""), capabilities: {} });
  await c.notify("initialized", {});
  const u = uri("scratch/names.gvt");
  const text = [
    "host skylake { scheduler gvt }",
    "vm constructor { type V5_4; run toString }",
    "vm valueOf { type V5_4; run __proto__ }",
    "workload toString { at 60fps { rcs batch { draw 4 }; flip } }",
    "expect fps(constructor) >= 30",
    "",
  ].join("\n");
  await c.notify("textDocument/didOpen", {
    textDocument: { uri: u, languageId: "gvt", version: 1, text },
  });
  const d = (await c.waitFor(diagnosticsFor(u, 1))).params.diagnostics;
  assert.equal(d.length, 1, JSON.stringify(d));
  assert.match(d[0].message, /^'__proto__' cannot be a name/);
  assert.deepEqual(d[0].range, {
    start: { line: 2, character: 28 },
    end: { line: 2, character: 37 },
  });
  const syms = await c.request("textDocument/documentSymbol", { textDocument: { uri: u } });
  const names = syms.map((s: { name: string }) => s.name);
  for (const n of ["constructor", "valueOf", "toString"]) {
    assert.ok(names.some((s: string) => s.endsWith(` ${n}`)), names.join(" | "));
  }
  const def = await c.request("textDocument/definition", {
    textDocument: { uri: u },
    position: { line: 4, character: 14 },
  });
  assert.equal(def.range.start.line, 1, "fps(constructor) goes to its vm");
  const wl = await c.request("textDocument/definition", {
    textDocument: { uri: u },
    position: { line: 1, character: 34 },
  });
  assert.equal(wl.range.start.line, 3, "run toString goes to its workload");
  assert.equal(await c.close(), 0);
});
