/**
 * The TextMate grammar: generated from the language's tables (the file on disk is what the
 * generator writes), and a real TextMate engine (vscode-textmate + oniguruma, as VS Code uses)
 * colours every token of every shipped scenario the way the parser reads it.
 */
import assert from "node:assert/strict";
import oniguruma from "vscode-oniguruma";
import vsctm from "vscode-textmate";
import { scenarioLexer } from "../dsl/lexer.ts";
import { KEYWORDS, SOFT_KEYWORDS } from "../dsl/mod.ts";
import { GRAMMAR_PATH, textmateGrammarJson } from "../dsl/textmate.ts";
import { KEYWORD_DOCS } from "../dsl/word_docs.ts";

const root = new URL("..", import.meta.url);
const scenarioFiles = [...Deno.readDirSync(new URL("scenarios/", root))]
  .filter((e) => e.name.endsWith(".gvt")).map((e) => `scenarios/${e.name}`).sort();

Deno.test("grammar: the shipped file is what the generator writes (deno task grammar)", () => {
  const onDisk = Deno.readTextFileSync(new URL(GRAMMAR_PATH, root));
  assert.equal(onDisk, textmateGrammarJson(), "run `deno task grammar` and commit the result");
  const manifest = JSON.parse(
    Deno.readTextFileSync(new URL("editors/vscode/package.json", root)),
  );
  assert.equal(manifest.contributes.grammars[0].scopeName, "source.gvt");
  assert.ok(
    Deno.statSync(new URL("editors/vscode/" + manifest.contributes.grammars[0].path, root))
      .isFile,
  );
});

Deno.test("grammar: every keyword has hover docs and nothing else does", () => {
  assert.deepEqual(Object.keys(KEYWORD_DOCS).sort(), [...KEYWORDS].sort());
});

async function loadGrammar(): Promise<vsctm.IGrammar> {
  const wasm = Deno.readFileSync(
    new URL("node_modules/vscode-oniguruma/release/onig.wasm", root),
  );
  await oniguruma.loadWASM(wasm.buffer);
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (p: string[]) => new oniguruma.OnigScanner(p),
      createOnigString: (s: string) => new oniguruma.OnigString(s),
    }),
    loadGrammar: (scope: string) =>
      Promise.resolve(
        scope === "source.gvt"
          ? vsctm.parseRawGrammar(textmateGrammarJson(), "gvt.tmLanguage.json")
          : null,
      ),
  });
  const g = await registry.loadGrammar("source.gvt");
  assert.ok(g);
  return g;
}

/** Scopes of every character, line by line. */
function colour(g: vsctm.IGrammar, text: string): string[][][] {
  let stack = vsctm.INITIAL;
  return text.split("\n").map((line) => {
    const r = g.tokenizeLine(line, stack);
    stack = r.ruleStack;
    const perChar: string[][] = [];
    for (const t of r.tokens) {
      for (let i = t.startIndex; i < Math.min(t.endIndex, line.length); i++) perChar[i] = t.scopes;
    }
    return perChar;
  });
}

/** What scope a token of each kind must get (any of the prefixes). */
function expected(kind: string, image: string, prev: string | undefined, next?: string): string[] {
  if (kind === "Comment") return ["comment.line.gvt"];
  if (kind === "StringLit") return ["string.quoted.double.gvt"];
  if (kind === "Quantity") return ["constant.numeric.gvt"];
  if (prev === "Kw_scenario") return ["entity.name.section.gvt"]; // any word names the run
  if (kind === "ParamRef" || prev === "Kw_param") return ["variable.other.constant.parameter.gvt"];
  if (kind.startsWith("Kw_")) {
    const named = prev === "Kw_vm" || prev === "Kw_workload" || prev === "Kw_type" ||
      prev === "Kw_run";
    // A soft keyword where a name goes (`vm batch`) is a name.
    return SOFT_KEYWORDS.includes(image) && named
      ? ["entity.name.", "variable.other.workload"]
      : ["keyword.control.gvt", "storage.type.gvt", "storage.type."];
  }
  if (kind === "Identifier") {
    if (prev === "Kw_vm") return ["entity.name.vm.gvt"];
    if (prev === "Kw_workload") return ["entity.name.function.workload.gvt"];
    if (prev === "Kw_type") return ["entity.name.type.vgpu-type.gvt"];
    if (prev === "Kw_run") return ["variable.other.workload.gvt"];
    if (next === "LParen") return ["support.function.gvt"];
    return ["constant.language.gvt", "variable.parameter.setting.gvt", "variable.other.gvt"];
  }
  if (["Ge", "Le", "EqEq", "Ne", "Gt", "Lt", "Plus", "Minus", "Star", "Slash"].includes(kind)) {
    return ["keyword.operator.gvt"];
  }
  if (kind === "LCurly" || kind === "RCurly") return ["punctuation.section.block.gvt"];
  if (kind === "Semi") return ["punctuation.terminator.statement.gvt"];
  return [];
}

Deno.test("grammar: vscode-textmate colours every token of every shipped scenario", async () => {
  const g = await loadGrammar();
  assert.ok(scenarioFiles.length >= 10);
  let checked = 0;
  for (const file of scenarioFiles) {
    const text = Deno.readTextFileSync(new URL(file, root));
    const scopes = colour(g, text);
    const lex = scenarioLexer.tokenize(text);
    assert.equal(lex.errors.length, 0, file);
    const toks = [...lex.tokens, ...(lex.groups.comments ?? [])]
      .filter((t) => t.tokenType.name !== "Newline")
      .sort((a, b) => a.startOffset - b.startOffset);
    const code = toks.filter((t) => t.tokenType.name !== "Comment");
    for (const t of toks) {
      const i = code.indexOf(t);
      const kind = t.tokenType.name;
      const want = expected(
        kind,
        t.image,
        i > 0 ? code[i - 1].tokenType.name : undefined,
        code[i + 1]?.tokenType.name,
      );
      if (want.length === 0) continue;
      const at = scopes[(t.startLine ?? 1) - 1][(t.startColumn ?? 1) - 1] ?? [];
      const last = at.slice(1);
      assert.ok(
        last.some((s) => want.some((w) => s.startsWith(w))),
        `${file}:${t.startLine}:${t.startColumn}: '${t.image}' (${kind}) got [${
          last.join(", ")
        }], want one of ${want.join(", ")}`,
      );
      checked++;
    }
  }
  assert.ok(checked > 1000, `checked ${checked} tokens`);
});

Deno.test("grammar: names containing keywords and '-' stay names", async () => {
  const g = await loadGrammar();
  const [line] = colour(g, "scheduler gvirt-rr { timeslice 16ms }; vm x-for { run remap }");
  const scopeAt = (col: number) => line[col].slice(1).join(" ");
  assert.match(scopeAt(10), /constant\.language/); // gvirt-rr, a policy
  assert.match(scopeAt(15), /constant\.language/); // its '-rr' too
  assert.match(scopeAt(42), /entity\.name\.vm/); // x-for: 'for' is not a keyword here
  assert.match(scopeAt(57), /variable\.other\.workload/); // remap: no 'map' inside
});

Deno.test("grammar: parameters, declared and referenced", async () => {
  const g = await loadGrammar();
  const [decl, use] = colour(g, "param n_vm 4\nvm w[$n_vm] { type V5_4; run $load }");
  const at = (line: string[][], col: number) => line[col].slice(1).join(" ");
  assert.match(at(decl, 0), /storage\.type\.param/);
  assert.match(at(decl, 6), /variable\.other\.constant\.parameter/); // n_vm
  assert.match(at(decl, 11), /constant\.numeric/);
  for (const col of [5, 9, 29, 33]) {
    assert.match(at(use, col), /variable\.other\.constant\.parameter/, `${col}`);
  }
  assert.doesNotMatch(at(use, 10), /parameter/); // ']'
});
