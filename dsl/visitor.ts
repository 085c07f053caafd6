/**
 * CST -> AST: a Chevrotain CST visitor that keeps every node's location. It tolerates the
 * partial trees error recovery leaves behind (a node missing a token is dropped; the parser
 * has already reported why).
 */

import type { CstNode, IToken } from "chevrotain";
import { scenarioParser } from "./parser.ts";
import type {
  ExprAst,
  FaultAst,
  FileAst,
  HostStmtAst,
  ItemAst,
  NumLit,
  OpAst,
  PredicateAst,
  SettingAst,
  Span,
  TimelineStmtAst,
  ValueAst,
  VmStmtAst,
} from "./ast.ts";

type Child = CstNode | IToken;
type Ctx = Record<string, Child[] | undefined>;

const BaseVisitor = scenarioParser.getBaseCstVisitorConstructor();

function isToken(c: Child): c is IToken {
  return (c as IToken).image !== undefined;
}

/** Unescapes a string literal's body. */
function unquote(image: string): string {
  return image.slice(1, -1).replace(
    /\\(.)/g,
    (_m, c: string) => c === "n" ? "\n" : c === "t" ? "\t" : c,
  );
}

const NUM_RE = /^((?:\d+(?:\.\d+)?|\.\d+))(.*)$/;

/** The visitor; one instance per file. */
export class AstBuilder extends BaseVisitor {
  /** A visitor for one file: `path` names it in locations, `source` gives expectation text. */
  constructor(private readonly path: string, private readonly source: string) {
    super();
  }

  // ---- helpers -------------------------------------------------------------------------

  private span(t: IToken | undefined, fallback?: Span): Span {
    if (
      !t || t.isInsertedInRecovery || !Number.isFinite(t.startLine) ||
      !Number.isFinite(t.startColumn)
    ) {
      return fallback ?? { file: this.path, line: 1, col: 1, len: 1 };
    }
    return {
      file: this.path,
      line: t.startLine as number,
      col: t.startColumn as number,
      len: Math.max(1, t.image.length),
    };
  }

  private tok(ctx: Ctx, name: string, i = 0): IToken | undefined {
    const arr = ctx[name];
    const t = arr?.[i];
    if (!t || !isToken(t) || t.isInsertedInRecovery) return undefined;
    return t;
  }

  private node(ctx: Ctx, name: string, i = 0): CstNode | undefined {
    const arr = ctx[name];
    const n = arr?.[i];
    return n && !isToken(n) ? n : undefined;
  }

  private nodes(ctx: Ctx, name: string): CstNode[] {
    return (ctx[name] ?? []).filter((c): c is CstNode => !isToken(c));
  }

  private firstToken(c: Child): IToken | undefined {
    if (isToken(c)) return c.isInsertedInRecovery ? undefined : c;
    let best: IToken | undefined;
    for (const arr of Object.values(c.children)) {
      for (const ch of arr) {
        const t = this.firstToken(ch);
        if (t && (!best || t.startOffset < best.startOffset)) best = t;
      }
    }
    return best;
  }

  private lastToken(c: Child): IToken | undefined {
    if (isToken(c)) return c.isInsertedInRecovery ? undefined : c;
    let best: IToken | undefined;
    for (const arr of Object.values(c.children)) {
      for (const ch of arr) {
        const t = this.lastToken(ch);
        if (t && (!best || t.startOffset > best.startOffset)) best = t;
      }
    }
    return best;
  }

  private nodeSpan(n: CstNode): Span {
    const a = this.firstToken(n);
    const b = this.lastToken(n);
    const s = this.span(a);
    if (a && b && a.startLine === b.startLine && Number.isFinite(b.endOffset)) {
      s.len = Math.max(1, (b.endOffset as number) - a.startOffset + 1);
    }
    return s;
  }

  private num(t: IToken | undefined, negative = false): NumLit | undefined {
    if (!t) return undefined;
    const m = NUM_RE.exec(t.image);
    if (!m) return undefined;
    const v = Number(m[1]);
    return {
      value: negative ? -v : v,
      unit: m[2],
      raw: (negative ? "-" : "") + t.image,
      span: this.span(t),
    };
  }

  private ident(ctx: Ctx, name = "Identifier", i = 0): { name: string; span: Span } | undefined {
    const t = this.tok(ctx, name, i);
    return t ? { name: t.image, span: this.span(t) } : undefined;
  }

  private sub<R>(n: CstNode | undefined): R | undefined {
    return n ? this.visit(n) as R | undefined : undefined;
  }

  private subs<R>(ns: CstNode[]): R[] {
    const out: R[] = [];
    for (const n of ns) {
      const r = this.visit(n) as R | undefined;
      if (r !== undefined) out.push(r);
    }
    return out;
  }

  // ---- rules ---------------------------------------------------------------------------

  /** file */
  file(ctx: Ctx): FileAst {
    return { file: this.path, items: this.subs<ItemAst>(this.nodes(ctx, "topItem")) };
  }

  /** topItem */
  topItem(ctx: Ctx): ItemAst | undefined {
    for (const n of Object.values(ctx)) {
      const c = n?.[0];
      if (c && !isToken(c)) return this.visit(c) as ItemAst | undefined;
    }
    return undefined;
  }

  /** scenario NAME */
  scenarioDecl(ctx: Ctx): ItemAst | undefined {
    const id = this.tok(ctx, "Word");
    const str = this.tok(ctx, "StringLit");
    const t = id ?? str;
    if (!t) return undefined;
    return {
      k: "scenario",
      name: id ? id.image : unquote(t.image),
      span: this.span(t),
    };
  }

  /** seed N */
  seedDecl(ctx: Ctx): ItemAst | undefined {
    const n = this.num(this.tok(ctx, "Quantity"));
    return n ? { k: "seed", value: n, span: this.span(this.tok(ctx, "Kw_seed")) } : undefined;
  }

  /** warmup TIME */
  warmupDecl(ctx: Ctx): ItemAst | undefined {
    const n = this.num(this.tok(ctx, "Quantity"));
    return n ? { k: "warmup", value: n, span: this.span(this.tok(ctx, "Kw_warmup")) } : undefined;
  }

  /** include "path" */
  includeDecl(ctx: Ctx): ItemAst | undefined {
    const t = this.tok(ctx, "StringLit");
    return t ? { k: "include", path: unquote(t.image), span: this.span(t) } : undefined;
  }

  /** host */
  hostDecl(ctx: Ctx): ItemAst {
    const named = this.tok(ctx, "Identifier", 1) !== undefined;
    const n = named ? this.ident(ctx) : undefined;
    const g = this.ident(ctx, "Identifier", named ? 1 : 0);
    const block = this.node(ctx, "hostBlock");
    return {
      k: "host",
      ...(n ? { name: n.name, nameSpan: n.span } : {}),
      gpu: g?.name,
      gpuSpan: g?.span,
      stmts: block ? this.subs<HostStmtAst>(this.nodes(block.children, "hostStmt")) : [],
      span: this.span(this.tok(ctx, "Kw_host")),
    };
  }

  /** host block (visited through hostDecl) */
  hostBlock(ctx: Ctx): HostStmtAst[] {
    return this.subs<HostStmtAst>(this.nodes(ctx, "hostStmt"));
  }

  /** host statement */
  hostStmt(ctx: Ctx): HostStmtAst | undefined {
    const set = this.node(ctx, "setting");
    if (set) {
      const s = this.sub<SettingAst>(set);
      return s ? { k: "setting", setting: s } : undefined;
    }
    return this.sub<HostStmtAst>(
      this.node(ctx, "hypervisorDecl") ?? this.node(ctx, "schedulerDecl") ??
        this.node(ctx, "costStmt"),
    );
  }

  /** hypervisor */
  hypervisorDecl(ctx: Ctx): HostStmtAst | undefined {
    const id = this.tok(ctx, "Identifier");
    const str = this.tok(ctx, "StringLit");
    const t = id ?? str;
    if (!t) return undefined;
    const out: HostStmtAst = {
      k: "hypervisor",
      name: id ? id.image : unquote(t.image),
      isPath: !id,
      params: [],
      costs: [],
      faults: [],
      span: this.span(t),
    };
    const block = this.node(ctx, "hvBlock");
    if (block) {
      for (const st of this.nodes(block.children, "hvStmt")) {
        const c = st.children as Ctx;
        const p = this.node(c, "paramStmt");
        const f = this.node(c, "faultSpec");
        const s = this.node(c, "setting");
        if (p) {
          const pc = p.children as Ctx;
          const key = this.ident(pc);
          const value = this.sub<ValueAst>(this.node(pc, "value"));
          if (key && value) out.params.push({ key: key.name, value, span: key.span });
        } else if (f) {
          const fa = this.sub<FaultAst>(f);
          if (fa) out.faults.push(fa);
        } else if (s) {
          const sa = this.sub<SettingAst>(s);
          if (sa) out.costs.push(sa);
        }
      }
    }
    return out;
  }

  /** hypervisor block (visited through hypervisorDecl) */
  hvBlock(): undefined {
    return undefined;
  }

  /** hypervisor statement (visited through hypervisorDecl) */
  hvStmt(): undefined {
    return undefined;
  }

  /** `param NAME value` at the top level (in a hypervisor block, read by hypervisorDecl) */
  paramStmt(ctx: Ctx): ItemAst | undefined {
    const key = this.ident(ctx);
    const value = this.sub<ValueAst>(this.node(ctx, "value"));
    return key && value ? { k: "param", name: key.name, value, span: key.span } : undefined;
  }

  /** fault rule */
  faultSpec(ctx: Ctx): FaultAst | undefined {
    const op = this.ident(ctx, "Identifier", 0);
    const action = this.ident(ctx, "Identifier", 1);
    if (!op || !action) return undefined;
    const f: FaultAst = {
      op: op.name,
      opSpan: op.span,
      action: action.name,
      actionSpan: action.span,
      amount: this.num(this.tok(ctx, "Quantity")),
      span: this.span(this.tok(ctx, "Kw_fault"), op.span),
    };
    for (const o of this.nodes(ctx, "faultOpt")) {
      const c = o.children as Ctx;
      if (c["Kw_after"]) f.after = this.num(this.tok(c, "Quantity"));
      else if (c["Kw_for"]) f.count = this.num(this.tok(c, "Quantity"));
      else if (c["Kw_vm"]) {
        const v = this.ident(c);
        if (v) f.vm = v;
      } else if (c["Kw_at"]) f.at = this.num(this.tok(c, "Quantity"));
    }
    return f;
  }

  /** fault option (visited through faultSpec) */
  faultOpt(): undefined {
    return undefined;
  }

  /** scheduler */
  schedulerDecl(ctx: Ctx): HostStmtAst | undefined {
    const p = this.ident(ctx);
    if (!p) return undefined;
    const b = this.node(ctx, "settingsBlock");
    return {
      k: "scheduler",
      policy: p.name,
      settings: b ? this.visit(b) as SettingAst[] : [],
      span: p.span,
    };
  }

  /** cost COMMAND TIME */
  costStmt(ctx: Ctx): HostStmtAst | undefined {
    const qs = (ctx["Quantity"] ?? []).filter(isToken).filter((t) => !t.isInsertedInRecovery);
    const name = this.tok(ctx, "Identifier") ?? this.tok(ctx, "StringLit");
    let cmdTok: IToken | undefined;
    let valTok: IToken | undefined;
    if (name) {
      cmdTok = name;
      valTok = qs[0];
    } else {
      cmdTok = qs.length === 2 ? qs[0] : undefined;
      valTok = qs.length === 2 ? qs[1] : undefined;
    }
    if (!cmdTok) return undefined;
    const command = cmdTok.tokenType.name === "StringLit" ? unquote(cmdTok.image) : cmdTok.image;
    return {
      k: "cost",
      command,
      cmdSpan: this.span(cmdTok),
      value: this.num(valTok),
      span: this.span(this.tok(ctx, "Kw_cost")),
    };
  }

  /** NAME value* */
  setting(ctx: Ctx): SettingAst | undefined {
    const key = this.ident(ctx);
    if (!key) return undefined;
    return { key: key.name, values: this.subs<ValueAst>(this.nodes(ctx, "value")), span: key.span };
  }

  /** A number, or a window (`A..B`, `A..`, `..B`), in a value or an argument. */
  quantity(ctx: Ctx): ValueAst | undefined {
    const dd = this.tok(ctx, "DotDot");
    if (!dd) {
      const n = this.num(this.tok(ctx, "Quantity"));
      return n ? { k: "num", num: n, span: n.span } : undefined;
    }
    let from: NumLit | undefined, to: NumLit | undefined;
    for (let i = 0; i < (ctx["Quantity"]?.length ?? 0); i++) {
      const q = this.tok(ctx, "Quantity", i);
      const n = this.num(q);
      if (!q || !n) return undefined;
      if (q.startOffset < dd.startOffset) from = n;
      else to = n;
    }
    const first = from?.span ?? this.span(dd), last = to?.span ?? this.span(dd);
    const len = last.line === first.line ? last.col + last.len - first.col : first.len;
    return { k: "range", from, to, span: { ...first, len } };
  }

  /** value */
  value(ctx: Ctx): ValueAst | undefined {
    const qn = this.node(ctx, "quantity");
    if (qn) return this.sub<ValueAst>(qn);
    const q = this.tok(ctx, "Quantity");
    if (q) {
      const n = this.num(q, !!this.tok(ctx, "Minus"));
      if (!n) return undefined;
      return { k: "num", num: n, span: this.span(this.tok(ctx, "Minus") ?? q) };
    }
    const s = this.tok(ctx, "StringLit");
    if (s) return { k: "str", value: unquote(s.image), span: this.span(s) };
    const id = this.ident(ctx, "Word");
    if (!id) return undefined;
    if (ctx["LParen"]) {
      return {
        k: "call",
        name: id.name,
        args: this.subs<ValueAst>(this.nodes(ctx, "value")),
        span: id.span,
      };
    }
    return { k: "id", name: id.name, span: id.span };
  }

  /** { settings } */
  settingsBlock(ctx: Ctx): SettingAst[] {
    return this.subs<SettingAst>(this.nodes(ctx, "setting"));
  }

  /** type NAME { settings } */
  typeDecl(ctx: Ctx): ItemAst | undefined {
    const n = this.ident(ctx);
    if (!n) return undefined;
    const b = this.node(ctx, "settingsBlock");
    return {
      k: "type",
      name: n.name,
      settings: b ? this.visit(b) as SettingAst[] : [],
      span: n.span,
    };
  }

  /** vm NAME[N] { ... } */
  vmDecl(ctx: Ctx): ItemAst | undefined {
    const n = this.ident(ctx);
    if (!n) return undefined;
    const b = this.node(ctx, "vmBlock");
    return {
      k: "vm",
      name: n.name,
      count: ctx["LBracket"] ? this.num(this.tok(ctx, "Quantity")) : undefined,
      stmts: b ? this.visit(b) as VmStmtAst[] : [],
      span: n.span,
    };
  }

  /** vm block */
  vmBlock(ctx: Ctx): VmStmtAst[] {
    return this.subs<VmStmtAst>(this.nodes(ctx, "vmStmt"));
  }

  /** vm statement */
  vmStmt(ctx: Ctx): VmStmtAst | undefined {
    const set = this.node(ctx, "setting");
    if (set) {
      const s = this.sub<SettingAst>(set);
      return s ? { k: "setting", setting: s } : undefined;
    }
    const id = this.ident(ctx);
    if (!id) return undefined;
    const k = ctx["Kw_type"] ? "type" : ctx["Kw_host"] ? "host" : "run";
    return { k, name: id.name, span: id.span };
  }

  /** workload NAME { ... } */
  workloadDecl(ctx: Ctx): ItemAst | undefined {
    const n = this.ident(ctx);
    if (!n) return undefined;
    const b = this.node(ctx, "opBlock");
    return { k: "workload", name: n.name, body: b ? this.visit(b) as OpAst[] : [], span: n.span };
  }

  /** { steps } */
  opBlock(ctx: Ctx): OpAst[] {
    return this.subs<OpAst>([...this.nodes(ctx, "op")]);
  }

  private block(ctx: Ctx, name = "opBlock"): OpAst[] {
    const b = this.node(ctx, name);
    return b ? this.visit(b) as OpAst[] : [];
  }

  /** one step */
  op(ctx: Ctx): OpAst | undefined {
    const first = this.firstTokenOf(ctx);
    const span = this.span(first);
    if (ctx["Kw_batch"]) {
      const e = this.ident(ctx);
      if (!e) return undefined;
      const b = this.node(ctx, "settingsBlock");
      return {
        k: "batch",
        engine: e.name,
        mix: b ? this.visit(b) as SettingAst[] : [],
        span: e.span,
      };
    }
    if (ctx["Kw_every"]) {
      const p = this.num(this.tok(ctx, "Quantity"));
      return p ? { k: "every", period: p, body: this.block(ctx), span } : undefined;
    }
    if (ctx["Kw_at"]) {
      const r = this.num(this.tok(ctx, "Quantity"));
      return r ? { k: "at", rate: r, body: this.block(ctx), span } : undefined;
    }
    if (ctx["Kw_repeat"]) {
      const c = ctx["Kw_forever"] ? "forever" as const : this.num(this.tok(ctx, "Quantity"));
      return c ? { k: "repeat", count: c, body: this.block(ctx), span } : undefined;
    }
    if (ctx["Kw_loop"]) return { k: "repeat", count: "forever", body: this.block(ctx), span };
    if (ctx["Kw_think"]) {
      const v = this.sub<ValueAst>(this.node(ctx, "value"));
      return v ? { k: "think", value: v, span } : undefined;
    }
    if (ctx["Kw_wait"]) {
      const w = this.ident(ctx);
      return w ? { k: "wait", what: w.name, whatSpan: w.span, span } : undefined;
    }
    if (ctx["Kw_flip"]) return { k: "flip", span };
    if (ctx["chooseOp"]) return this.sub<OpAst>(this.node(ctx, "chooseOp"));
    for (const k of ["map", "unmap"] as const) {
      if (ctx["Kw_" + k]) {
        const v = this.sub<ValueAst>(this.node(ctx, "value"));
        return v ? { k, value: v, huge: ctx["Kw_huge"] !== undefined, span } : undefined;
      }
    }
    if (ctx["Kw_pte_rewrite"]) {
      const v = this.sub<ValueAst>(this.node(ctx, "value"));
      return v ? { k: "pte_rewrite", value: v, span } : undefined;
    }
    if (ctx["Kw_misbehave"]) {
      const kind = this.ident(ctx);
      if (!kind) return undefined;
      return {
        k: "misbehave",
        kind: kind.name,
        kindSpan: kind.span,
        count: this.num(this.tok(ctx, "Quantity")),
        span,
      };
    }
    return undefined;
  }

  /** The first of the node's own tokens (every step starts with one of its own tokens). */
  private firstTokenOf(ctx: Ctx): IToken | undefined {
    let best: IToken | undefined;
    for (const arr of Object.values(ctx)) {
      for (const c of arr ?? []) {
        if (!isToken(c) || c.isInsertedInRecovery) continue;
        if (!best || c.startOffset < best.startOffset) best = c;
      }
    }
    return best;
  }

  /** choose { W: { ... } ... } */
  chooseOp(ctx: Ctx): OpAst {
    const ws = (ctx["Quantity"] ?? []).filter(isToken);
    const bodies = this.nodes(ctx, "opBlock");
    const options: { weight: NumLit; body: OpAst[] }[] = [];
    for (let i = 0; i < Math.min(ws.length, bodies.length); i++) {
      const w = this.num(ws[i].isInsertedInRecovery ? undefined : ws[i]);
      if (w) options.push({ weight: w, body: this.visit(bodies[i]) as OpAst[] });
    }
    return { k: "choose", options, span: this.span(this.tok(ctx, "Kw_choose")) };
  }

  /** timeline { ... } */
  timelineDecl(ctx: Ctx): ItemAst {
    return {
      k: "timeline",
      stmts: this.subs<TimelineStmtAst>(this.nodes(ctx, "tlStmt")),
      span: this.span(this.tok(ctx, "Kw_timeline")),
    };
  }

  /** at T action | run D */
  tlStmt(ctx: Ctx): TimelineStmtAst | undefined {
    const q = this.num(this.tok(ctx, "Quantity"));
    if (!q) return undefined;
    if (ctx["Kw_run"]) return { k: "run", duration: q, span: this.span(this.tok(ctx, "Kw_run")) };
    const a = this.node(ctx, "tlAction");
    if (!a) return undefined;
    const c = a.children as Ctx;
    const span = this.span(this.tok(ctx, "Kw_at"));
    const f = this.node(c, "faultSpec");
    if (f) {
      const fa = this.sub<FaultAst>(f);
      return fa ? { k: "fault", at: q, fault: fa, span } : undefined;
    }
    const s = this.node(c, "setting");
    if (s) {
      const sa = this.sub<SettingAst>(s);
      return sa ? { k: "action", at: q, action: sa, span } : undefined;
    }
    const vm = this.ident(c, "Identifier", 0);
    const kind = this.ident(c, "Identifier", 1);
    if (!vm || !kind) return undefined;
    return {
      k: "misbehave",
      at: q,
      vm: vm.name,
      vmSpan: vm.span,
      kind: kind.name,
      kindSpan: kind.span,
      count: this.num(this.tok(c, "Quantity")),
      span,
    };
  }

  /** timeline action (visited through tlStmt) */
  tlAction(): undefined {
    return undefined;
  }

  /** expect PREDICATE */
  expectDecl(ctx: Ctx): ItemAst | undefined {
    const p = this.node(ctx, "predicate");
    const kw = this.tok(ctx, "Kw_expect");
    if (!p || !kw) return undefined;
    const pred = this.visit(p) as PredicateAst | undefined;
    if (!pred) return undefined;
    return {
      k: "expect",
      pred,
      text: this.restOfStatement(kw.endOffset ?? kw.startOffset),
      span: this.span(kw),
    };
  }

  /**
   * The source text after `offset` up to the end of the statement (a newline, or a `;` or
   * comment outside a string), trimmed: a predicate never spans lines.
   */
  private restOfStatement(offset: number): string {
    const src = this.source;
    let i = offset + 1;
    let inStr = false;
    const start = i;
    for (; i < src.length; i++) {
      const c = src[i];
      if (c === "\n") break;
      if (inStr) {
        if (c === "\\") i++;
        else if (c === '"') inStr = false;
        continue;
      }
      if (c === '"') inStr = true;
      else if (c === ";" || c === "#" || (c === "/" && src[i + 1] === "/")) break;
    }
    return src.slice(start, i).trim();
  }

  /** predicate */
  predicate(ctx: Ctx): PredicateAst | undefined {
    const exprs = this.nodes(ctx, "expr");
    const left = this.sub<ExprAst>(exprs[0]);
    if (!left) return undefined;
    const cmp = this.tok(ctx, "CmpOp");
    if (cmp) {
      const right = this.sub<ExprAst>(exprs[1]);
      return right ? { k: "cmp", op: cmp.image, left, right, span: this.span(cmp) } : undefined;
    }
    const within = this.tok(ctx, "Kw_within");
    if (within) {
      const tol = this.num(this.tok(ctx, "Quantity"));
      const target = this.sub<ExprAst>(exprs[1]);
      return tol && target
        ? { k: "within", left, tol, target, span: this.span(within) }
        : undefined;
    }
    const st = this.ident(ctx);
    return st
      ? {
        k: "is",
        left,
        state: st.name,
        stateSpan: st.span,
        span: this.span(this.tok(ctx, "Kw_is")),
      }
      : undefined;
  }

  private chain(
    ctx: Ctx,
    sub: string,
    ops: [string, "+" | "-" | "*" | "/"][],
  ): ExprAst | undefined {
    const parts = this.nodes(ctx, sub);
    const opToks: IToken[] = [];
    for (const [name] of ops) for (const t of (ctx[name] ?? []).filter(isToken)) opToks.push(t);
    opToks.sort((a, b) => a.startOffset - b.startOffset);
    let acc = this.sub<ExprAst>(parts[0]);
    for (let i = 1; i < parts.length && acc; i++) {
      const b = this.sub<ExprAst>(parts[i]);
      const t = opToks[i - 1];
      if (!b || !t) return undefined;
      const op = ops.find(([n]) => n === t.tokenType.name)?.[1] ?? "+";
      acc = { k: "bin", op, a: acc, b, span: acc.span };
    }
    return acc;
  }

  /** expr */
  expr(ctx: Ctx): ExprAst | undefined {
    return this.chain(ctx, "term", [["Plus", "+"], ["Minus", "-"]]);
  }

  /** term */
  term(ctx: Ctx): ExprAst | undefined {
    return this.chain(ctx, "factor", [["Star", "*"], ["Slash", "/"]]);
  }

  /** factor */
  factor(ctx: Ctx): ExprAst | undefined {
    if (ctx["Minus"]) {
      const e = this.sub<ExprAst>(this.node(ctx, "factor"));
      return e ? { k: "neg", e, span: this.span(this.tok(ctx, "Minus")) } : undefined;
    }
    return this.sub<ExprAst>(this.node(ctx, "primary"));
  }

  /** primary */
  primary(ctx: Ctx): ExprAst | undefined {
    const q = this.tok(ctx, "Quantity");
    if (q) {
      const n = this.num(q);
      return n ? { k: "num", num: n, span: n.span } : undefined;
    }
    const c = this.node(ctx, "call");
    if (c) return this.sub<ExprAst>(c);
    return this.sub<ExprAst>(this.node(ctx, "expr"));
  }

  /** NAME(args) */
  call(ctx: Ctx): ExprAst | undefined {
    const n = this.ident(ctx);
    if (!n) return undefined;
    return {
      k: "call",
      fn: n.name,
      args: this.subs<ValueAst>(this.nodes(ctx, "arg")),
      span: n.span,
    };
  }

  /** call argument */
  arg(ctx: Ctx): ValueAst | undefined {
    const qn = this.node(ctx, "quantity");
    if (qn) return this.sub<ValueAst>(qn);
    const s = this.tok(ctx, "StringLit");
    if (s) return { k: "str", value: unquote(s.image), span: this.span(s) };
    const id = this.ident(ctx, "Word");
    return id ? { k: "id", name: id.name, span: id.span } : undefined;
  }

  /** report { settings } */
  reportDecl(ctx: Ctx): ItemAst {
    const b = this.node(ctx, "settingsBlock");
    return {
      k: "report",
      settings: b ? this.visit(b) as SettingAst[] : [],
      span: this.span(this.tok(ctx, "Kw_report")),
    };
  }
}
