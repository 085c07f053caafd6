/**
 * `gvtsim lsp`: a language server for scenario files over stdio (vscode-languageserver).
 * Diagnostics on open and change are exactly `gvtsim check`'s; completion, hover, go to
 * definition and document symbols come from dsl/complete.ts, dsl/hover.ts and dsl/symbols.ts.
 * @module
 */

import process from "node:process";
import {
  CompletionItemKind,
  createConnection,
  type Diagnostic as LspDiagnostic,
  DiagnosticSeverity,
  type DocumentSymbol,
  type Location,
  ProposedFeatures,
  type Range,
  SymbolKind,
  TextDocuments,
  TextDocumentSyncKind,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import type { Diagnostic, ItemAst, Span } from "../dsl/mod.ts";
import { parseFile, parseScenarioText, readScenarioFile, resolveInclude } from "../dsl/mod.ts";
import { type CompletionKind, completionsAt } from "../dsl/complete.ts";
import { hoverText } from "../dsl/hover.ts";
import { declarations, statementExtent, wordAt } from "../dsl/symbols.ts";

/** A document URI as a path (file: URIs), or the URI itself (untitled documents). */
export function uriToPath(uri: string): string {
  return uri.startsWith("file:") ? decodeURIComponent(new URL(uri).pathname) : uri;
}

function pathToUri(path: string): string {
  if (!path.startsWith("/")) return path;
  return "file://" + path.split("/").map(encodeURIComponent).join("/");
}

function spanRange(s: Pick<Span, "line" | "col" | "len">): Range {
  return {
    start: { line: s.line - 1, character: s.col - 1 },
    end: { line: s.line - 1, character: s.col - 1 + s.len },
  };
}

const KINDS: Record<CompletionKind, CompletionItemKind> = {
  keyword: CompletionItemKind.Keyword,
  setting: CompletionItemKind.Property,
  function: CompletionItemKind.Function,
  vm: CompletionItemKind.Class,
  workload: CompletionItemKind.Method,
  type: CompletionItemKind.Struct,
  host: CompletionItemKind.Module,
  value: CompletionItemKind.EnumMember,
};

const SYMBOLS: Record<ItemAst["k"], SymbolKind> = {
  scenario: SymbolKind.Namespace,
  seed: SymbolKind.Constant,
  warmup: SymbolKind.Constant,
  include: SymbolKind.File,
  param: SymbolKind.Variable,
  host: SymbolKind.Module,
  type: SymbolKind.Struct,
  vm: SymbolKind.Class,
  workload: SymbolKind.Function,
  timeline: SymbolKind.Event,
  expect: SymbolKind.Boolean,
  report: SymbolKind.Object,
};

function symbolName(it: ItemAst): string {
  switch (it.k) {
    case "scenario":
    case "type":
    case "workload":
    case "param":
      return `${it.k} ${it.name}`;
    case "vm":
      return `vm ${it.name}${it.count ? `[${it.count.raw}]` : ""}`;
    case "seed":
      return `seed ${it.value.raw}`;
    case "warmup":
      return `warmup ${it.value.raw}`;
    case "include":
      return `include "${it.path}"`;
    case "host":
      return `host ${it.name ? `${it.name} ` : ""}${it.gpu ?? ""}`.trim();
    case "expect":
      return `expect ${it.text}`;
    default:
      return it.k;
  }
}

/** Runs the server until the client sends `exit`; returns the exit code. */
export function startLsp(): Promise<number> {
  const conn = createConnection(ProposedFeatures.all, process.stdin, process.stdout);
  const docs = new TextDocuments(TextDocument);

  const readFile = (path: string): string => {
    const open = docs.get(pathToUri(path));
    return open ? open.getText() : readScenarioFile(path, { include: true });
  };

  /** `check`'s diagnostics of one document; those of included files point at the include. */
  const diagnose = (doc: TextDocument): LspDiagnostic[] => {
    const path = uriToPath(doc.uri);
    const text = doc.getText();
    const r = parseScenarioText(text, path, { readFile });
    const includes = parseFile(text, path).ast.items.filter((i) => i.k === "include");
    return r.diagnostics.map((d: Diagnostic) => {
      const own = d.file === path;
      const inc = own
        ? undefined
        : includes.find((i) => i.k === "include" && resolveInclude(path, i.path) === d.file) ??
          includes[0];
      const at = own ? d : inc?.span ?? { line: 1, col: 1, len: 1 };
      return {
        range: spanRange(at),
        severity: d.severity === "error" ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
        source: "gvtsim",
        message: (own ? "" : `${d.file}:${d.line}:${d.col}: `) + d.message +
          (d.note ? `\nnote: ${d.note}` : ""),
      };
    });
  };

  const publish = (doc: TextDocument) =>
    conn.sendDiagnostics({ uri: doc.uri, version: doc.version, diagnostics: diagnose(doc) });

  const declsOf = (doc: TextDocument) => declarations(uriToPath(doc.uri), doc.getText(), readFile);

  const wordUnder = (doc: TextDocument, line: number, character: number) => {
    const lineText = doc.getText({
      start: { line, character: 0 },
      end: { line: line + 1, character: 0 },
    }).replace(/\n$/, "");
    return wordAt(lineText, character);
  };

  conn.onInitialize(() => ({
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      completionProvider: { triggerCharacters: [" ", "(", ","] },
      hoverProvider: true,
      definitionProvider: true,
      documentSymbolProvider: true,
    },
    serverInfo: { name: "gvtsim" },
  }));

  docs.onDidOpen((e) => publish(e.document));
  docs.onDidChangeContent((e) => publish(e.document));
  docs.onDidClose((e) => conn.sendDiagnostics({ uri: e.document.uri, diagnostics: [] }));

  conn.onCompletion((p) => {
    const doc = docs.get(p.textDocument.uri);
    if (!doc) return [];
    return completionsAt(doc.getText(), doc.offsetAt(p.position), declsOf(doc)).map((c) => ({
      label: c.label,
      kind: KINDS[c.kind],
      detail: c.detail,
      documentation: c.doc,
    }));
  });

  conn.onHover((p) => {
    const doc = docs.get(p.textDocument.uri);
    if (!doc) return null;
    const w = wordUnder(doc, p.position.line, p.position.character);
    const text = w && hoverText(w.word, declsOf(doc));
    if (!w || !text) return null;
    return {
      contents: { kind: "markdown", value: text },
      range: {
        start: { line: p.position.line, character: w.start },
        end: { line: p.position.line, character: w.start + w.word.length },
      },
    };
  });

  conn.onDefinition((p): Location | null => {
    const doc = docs.get(p.textDocument.uri);
    if (!doc) return null;
    const w = wordUnder(doc, p.position.line, p.position.character);
    const d = w && declsOf(doc).find((x) => x.name === w.word);
    if (!d) return null;
    const uri = d.span.file === uriToPath(doc.uri) ? doc.uri : pathToUri(d.span.file);
    return { uri, range: spanRange(d.span) };
  });

  conn.onDocumentSymbol((p): DocumentSymbol[] => {
    const doc = docs.get(p.textDocument.uri);
    if (!doc) return [];
    const text = doc.getText();
    return parseFile(text, uriToPath(doc.uri)).ast.items.map((it) => {
      const e = statementExtent(text, it.span);
      return {
        name: symbolName(it),
        kind: SYMBOLS[it.k],
        range: {
          start: { line: e.line - 1, character: e.col - 1 },
          end: { line: e.endLine - 1, character: e.endCol - 1 },
        },
        selectionRange: spanRange(it.span),
      };
    });
  });

  return new Promise((resolve) => {
    conn.onExit(() => resolve(0));
    docs.listen(conn);
    conn.listen();
  });
}
