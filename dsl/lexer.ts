/**
 * Tokens of the scenario language (Chevrotain lexer).
 *
 * Statements are separated by `;` or a newline (both are {@link Sep} tokens); `#` and `//`
 * start a comment that runs to the end of the line. A number may carry a unit suffix written
 * without a space (`2ms`, `512MiB`, `60Hz`, `10%`, `1920x1200`): the lexer keeps the number and
 * its suffix in one {@link Quantity} token and the checker interprets the suffix.
 */

import { createToken, type ILexerConfig, Lexer, type TokenType } from "chevrotain";

/** Abstract: any word, a name or a keyword (values and call arguments accept keywords). */
export const Word: TokenType = createToken({
  name: "Word",
  pattern: Lexer.NA,
  label: "a name",
});

/** Identifiers: letters, digits, `_`, and inner `-` (so `gvirt-rr` is one name). */
export const Identifier: TokenType = createToken({
  name: "Identifier",
  pattern: /[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*/,
  label: "a name",
  categories: [Word],
});

/** Abstract separator: `;` or newline. */
export const Sep: TokenType = createToken({
  name: "Sep",
  pattern: Lexer.NA,
  label: "';' or a newline",
});
/** `;` */
export const Semi: TokenType = createToken({
  name: "Semi",
  pattern: /;/,
  categories: [Sep],
  label: "';'",
});
/** A line break (significant: it ends a statement). */
export const Newline: TokenType = createToken({
  name: "Newline",
  pattern: /\n/,
  line_breaks: true,
  categories: [Sep],
  label: "a newline",
});
/** Spaces, tabs and carriage returns (skipped). */
export const WhiteSpace: TokenType = createToken({
  name: "WhiteSpace",
  pattern: /[ \t\r\f\v]+/,
  group: Lexer.SKIPPED,
});
/** `# ...` or `// ...` to the end of the line (not seen by the parser; kept for `fmt`). */
export const Comment: TokenType = createToken({
  name: "Comment",
  pattern: /(?:#|\/\/)[^\n]*/,
  group: "comments",
});
/** A double-quoted string with backslash escapes, on one line. */
export const StringLit: TokenType = createToken({
  name: "StringLit",
  pattern: /"(?:[^"\\\n]|\\.)*"/,
  label: "a string",
});
/** A number with an optional unit suffix: `400`, `16.7ms`, `512MiB`, `10%`, `1920x1200`. */
export const Quantity: TokenType = createToken({
  name: "Quantity",
  pattern: /(?:\d+(?:\.\d+)?|\.\d+)(?:%|[A-Za-z_][A-Za-z0-9_]*)?/,
  label: "a number",
});

/** A parameter reference, `$NAME` (dsl/params.ts replaces it by the value before parsing). */
export const ParamRef: TokenType = createToken({
  name: "ParamRef",
  pattern: /\$[A-Za-z_][A-Za-z0-9_]*/,
  label: "a parameter ($NAME)",
});

/** Abstract comparison operator. */
export const CmpOp: TokenType = createToken({
  name: "CmpOp",
  pattern: Lexer.NA,
  label: "a comparison (>=, <=, >, <, ==, !=)",
});
const cmp = (name: string, pattern: RegExp, label: string): TokenType =>
  createToken({ name, pattern, categories: [CmpOp], label });
/** `>=` */
export const Ge: TokenType = cmp("Ge", />=/, "'>='");
/** `<=` */
export const Le: TokenType = cmp("Le", /<=/, "'<='");
/** `==` */
export const EqEq: TokenType = cmp("EqEq", /==/, "'=='");
/** `!=` */
export const Ne: TokenType = cmp("Ne", /!=/, "'!='");
/** `>` */
export const Gt: TokenType = cmp("Gt", />/, "'>'");
/** `<` */
export const Lt: TokenType = cmp("Lt", /</, "'<'");

const punct = (name: string, pattern: RegExp, label: string): TokenType =>
  createToken({ name, pattern, label });
/** `{` */
export const LCurly: TokenType = punct("LCurly", /\{/, "'{'");
/** `}` */
export const RCurly: TokenType = punct("RCurly", /\}/, "'}'");
/** `(` */
export const LParen: TokenType = punct("LParen", /\(/, "'('");
/** `)` */
export const RParen: TokenType = punct("RParen", /\)/, "')'");
/** `[` */
export const LBracket: TokenType = punct("LBracket", /\[/, "'['");
/** `]` */
export const RBracket: TokenType = punct("RBracket", /\]/, "']'");
/** `,` */
export const Comma: TokenType = punct("Comma", /,/, "','");
/** `..`: a measurement window, `2s..6s` (before {@link Quantity}, which may start with `.`). */
export const DotDot: TokenType = punct("DotDot", /\.\./, "'..'");
/** `:` */
export const Colon: TokenType = punct("Colon", /:/, "':'");
/** `+` */
export const Plus: TokenType = punct("Plus", /\+/, "'+'");
/** `-` */
export const Minus: TokenType = punct("Minus", /-/, "'-'");
/** `*` */
export const Star: TokenType = punct("Star", /\*/, "'*'");
/** `/` */
export const Slash: TokenType = punct("Slash", /\//, "'/'");

const kw = (word: string, soft = false): TokenType =>
  createToken({
    name: "Kw_" + word,
    pattern: new RegExp(word),
    longer_alt: Identifier,
    label: `'${word}'`,
    // A soft keyword is also an Identifier, so it stays usable as a name (`vm batch`).
    categories: soft ? [Identifier, Word] : [Word],
  });

/** `scenario` */
export const Scenario: TokenType = kw("scenario");
/** `seed` */
export const Seed: TokenType = kw("seed");
/** `include` */
export const Include: TokenType = kw("include");
/** `host` */
export const Host: TokenType = kw("host");
/** `hypervisor` */
export const Hypervisor: TokenType = kw("hypervisor");
/** `scheduler` */
export const Scheduler: TokenType = kw("scheduler");
/** `cost` */
export const Cost: TokenType = kw("cost");
/** `param` */
export const Param: TokenType = kw("param");
/** `fault` */
export const Fault: TokenType = kw("fault");
/** `after` */
export const After: TokenType = kw("after", true);
/** `calls` */
export const Calls: TokenType = kw("calls", true);
/** `for` */
export const For: TokenType = kw("for", true);
/** `type` */
export const Type: TokenType = kw("type");
/** `vm` */
export const Vm: TokenType = kw("vm");
/** `run` */
export const Run: TokenType = kw("run");
/** `workload` */
export const Workload: TokenType = kw("workload");
/** `batch` */
export const Batch: TokenType = kw("batch", true);
/** `every` */
export const Every: TokenType = kw("every");
/** `at` */
export const At: TokenType = kw("at");
/** `repeat` */
export const Repeat: TokenType = kw("repeat");
/** `forever` */
export const Forever: TokenType = kw("forever", true);
/** `loop` */
export const Loop: TokenType = kw("loop");
/** `think` */
export const Think: TokenType = kw("think");
/** `wait` */
export const Wait: TokenType = kw("wait");
/** `flip` */
export const Flip: TokenType = kw("flip");
/** `choose` */
export const Choose: TokenType = kw("choose");
/** `map` */
export const Map_: TokenType = kw("map");
/** `unmap` */
export const Unmap: TokenType = kw("unmap");
/** `pages` */
export const Pages: TokenType = kw("pages", true);
/** `huge` (`map N huge pages`: 2 MiB pages) */
export const Huge: TokenType = kw("huge", true);
/** `pte_rewrite` */
export const PteRewrite: TokenType = kw("pte_rewrite");
/** `misbehave` */
export const Misbehave: TokenType = kw("misbehave");
/** `timeline` */
export const Timeline: TokenType = kw("timeline");
/** `expect` */
export const Expect: TokenType = kw("expect");
/** `within` */
export const Within: TokenType = kw("within", true);
/** `of` */
export const Of: TokenType = kw("of", true);
/** `is` */
export const Is: TokenType = kw("is", true);
/** `report` */
export const Report: TokenType = kw("report");
/** `warmup` */
export const Warmup: TokenType = kw("warmup", true);

/** Keyword tokens; a keyword that is a prefix of another (`for`, `forever`) comes after it. */
export const KEYWORD_TOKENS: readonly TokenType[] = [
  Scenario,
  Seed,
  Include,
  Host,
  Hypervisor,
  Scheduler,
  Cost,
  Param,
  Fault,
  After,
  Calls,
  Forever,
  For,
  Type,
  Vm,
  Run,
  Workload,
  Batch,
  Every,
  At,
  Repeat,
  Loop,
  Think,
  Wait,
  Flip,
  Choose,
  Map_,
  Unmap,
  Pages,
  Huge,
  PteRewrite,
  Misbehave,
  Timeline,
  Expect,
  Within,
  Of,
  Is,
  Report,
  Warmup,
];

/** Keywords that are also valid names (only special right after the construct that uses them). */
export const SOFT_KEYWORDS: readonly string[] = [
  "batch",
  "pages",
  "huge",
  "calls",
  "after",
  "for",
  "of",
  "within",
  "is",
  "forever",
  "warmup",
];

/** The keywords of the language (for completion and highlighting). */
export const KEYWORDS: readonly string[] = KEYWORD_TOKENS.map((t) => (t.PATTERN as RegExp).source);

/** Every token type, in lexer priority order. */
export const ALL_TOKENS: readonly TokenType[] = [
  WhiteSpace,
  Comment,
  Newline,
  Semi,
  Sep,
  StringLit,
  DotDot,
  Quantity,
  ParamRef,
  Ge,
  Le,
  EqEq,
  Ne,
  Gt,
  Lt,
  CmpOp,
  LCurly,
  RCurly,
  LParen,
  RParen,
  LBracket,
  RBracket,
  Comma,
  Colon,
  Plus,
  Minus,
  Star,
  Slash,
  ...KEYWORD_TOKENS,
  Identifier,
  Word,
];

/** The scenario lexer's options. */
export const LEXER_CONFIG: ILexerConfig = {
  positionTracking: "full",
  ensureOptimizations: false,
  // Only "\n" ends a line ("\r" is whitespace), so lines agree with the diagnostics renderer.
  lineTerminatorsPattern: /\n/g,
  lineTerminatorCharacters: ["\n"],
};

/**
 * The scenario lexer (one shared instance; Chevrotain lexers are reusable). The token set is
 * fixed, so it is validated by a test (tests/dsl_grammar_valid_test.ts), not on every start.
 */
export const scenarioLexer: Lexer = new Lexer(ALL_TOKENS as TokenType[], {
  ...LEXER_CONFIG,
  skipValidations: true,
});
