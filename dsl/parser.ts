/**
 * The grammar of the scenario language: a Chevrotain {@link CstParser} with error recovery.
 * It only builds a concrete syntax tree; {@link ./visitor.ts} turns that into the AST and
 * {@link ./checker.ts} gives it meaning.
 */

import {
  CstParser,
  type IParserErrorMessageProvider,
  type IToken,
  type TokenType,
} from "chevrotain";
import * as T from "./lexer.ts";

/** Human-readable names of the grammar rules (used in error messages). */
const RULE_NAMES: Record<string, string> = {
  file: "the top level",
  scenarioDecl: "scenario",
  seedDecl: "seed",
  warmupDecl: "warmup",
  includeDecl: "include",
  topItem: "a declaration",
  hostDecl: "host",
  hostBlock: "the host block",
  hostStmt: "a host setting",
  hypervisorDecl: "hypervisor",
  hvBlock: "the hypervisor block",
  hvStmt: "a hypervisor setting",
  paramStmt: "param",
  faultSpec: "fault",
  faultOpt: "a fault option",
  schedulerDecl: "scheduler",
  costStmt: "cost",
  setting: "a setting",
  value: "a value",
  settingsBlock: "a block of settings",
  typeDecl: "type",
  vmDecl: "vm",
  vmBlock: "the vm block",
  vmStmt: "a vm setting",
  workloadDecl: "workload",
  opBlock: "a workload block",
  op: "a workload step",
  chooseOp: "choose",
  timelineDecl: "timeline",
  tlStmt: "a timeline entry",
  tlAction: "a timeline action",
  expectDecl: "expect",
  predicate: "an expectation",
  expr: "an expression",
  term: "an expression",
  factor: "an expression",
  primary: "an expression",
  call: "a function call",
  arg: "a function argument",
  quantity: "a number",
  reportDecl: "report",
};

function what(tok: IToken): string {
  if (tok.tokenType.name === "EOF") return "the end of the file";
  if (tok.tokenType === T.Newline) return "the end of the line";
  return `'${tok.image}'`;
}

function unexpected(tok: IToken): string {
  if (tok.tokenType.name === "EOF") return "unexpected end of file";
  if (tok.tokenType === T.Newline) return "unexpected end of line";
  return `unexpected '${tok.image}'`;
}

const TOP_LEVEL = "a declaration (scenario, seed, include, param, host, type, vm, workload, " +
  "timeline, expect or report)";

function label(t: TokenType): string {
  return t.LABEL ?? t.name;
}

function firstTokens(paths: TokenType[][]): string {
  const seen: string[] = [];
  for (const p of paths) {
    const l = p.length > 0 ? label(p[0]) : "the end of the block";
    if (!seen.includes(l)) seen.push(l);
  }
  if (seen.length <= 1) return seen[0] ?? "something else";
  return seen.slice(0, -1).join(", ") + " or " + seen[seen.length - 1];
}

function ruleName(r: string): string {
  return RULE_NAMES[r] ?? r;
}

/** Most syntax errors one parse reports before it stops (see {@link TooManyErrors}). */
export const MAX_SYNTAX_ERRORS = 25;

/**
 * Thrown (by the message provider, the one hook that sees every error) when a parse finds
 * more than {@link MAX_SYNTAX_ERRORS} errors: Chevrotain's recovery costs a scan of the rest
 * of the input per error and recurses per error, so thousands of errors would take quadratic
 * time and overflow the stack. The parse stops; the errors found so far are reported.
 */
export class TooManyErrors extends Error {}

let errorsLeft = MAX_SYNTAX_ERRORS;

/** Starts counting syntax errors for a new parse. */
export function resetErrorBudget(): void {
  errorsLeft = MAX_SYNTAX_ERRORS;
}

function spend(): void {
  if (--errorsLeft < 0) throw new TooManyErrors(`more than ${MAX_SYNTAX_ERRORS} syntax errors`);
}

/** Short "expected X but found Y" messages instead of Chevrotain's verbose defaults. */
const messages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual, ruleName: r }) {
    spend();
    if (expected.name === "EOF") return `${unexpected(actual)}: expected ${TOP_LEVEL}`;
    return `expected ${label(expected)} in ${ruleName(r)} but found ${what(actual)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    spend();
    return `${unexpected(firstRedundant)}: expected ${TOP_LEVEL}`;
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, ruleName: r }) {
    spend();
    const paths = expectedPathsPerAlt.flat();
    return `${unexpected(actual[0])} in ${ruleName(r)}: expected ${firstTokens(paths)}`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual, ruleName: r }) {
    spend();
    return `${unexpected(actual[0])} in ${ruleName(r)}: expected ${
      firstTokens(expectedIterationPaths)
    }`;
  },
};

/**
 * The scenario grammar. Create once ({@link scenarioParser}); reuse by setting `input`.
 * Chevrotain's grammar validation (ambiguities, left recursion: a third of the set-up) runs
 * only when asked: the grammar is fixed, and tests/dsl_grammar_valid_test.ts validates it.
 */
export class ScenarioParser extends CstParser {
  /**
   * Builds the parser.
   * @param opts `validate`: run Chevrotain's grammar validations (throws on a bad grammar)
   */
  constructor(opts: { validate?: boolean } = {}) {
    super(T.ALL_TOKENS as TokenType[], {
      recoveryEnabled: true,
      maxLookahead: 3,
      errorMessageProvider: messages,
      skipValidations: opts.validate !== true,
    });
    this.performSelfAnalysis();
  }

  /** file := (Sep | topItem)* */
  file = this.RULE("file", () => {
    this.MANY(() =>
      this.OR([
        { ALT: () => this.CONSUME(T.Sep) },
        { ALT: () => this.SUBRULE(this.topItem) },
      ])
    );
  });

  /** One top-level declaration. */
  topItem = this.RULE("topItem", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.scenarioDecl) },
      { ALT: () => this.SUBRULE(this.seedDecl) },
      { ALT: () => this.SUBRULE(this.warmupDecl) },
      { ALT: () => this.SUBRULE(this.includeDecl) },
      { ALT: () => this.SUBRULE(this.paramStmt) },
      { ALT: () => this.SUBRULE(this.hostDecl) },
      { ALT: () => this.SUBRULE(this.typeDecl) },
      { ALT: () => this.SUBRULE(this.vmDecl) },
      { ALT: () => this.SUBRULE(this.workloadDecl) },
      { ALT: () => this.SUBRULE(this.timelineDecl) },
      { ALT: () => this.SUBRULE(this.expectDecl) },
      { ALT: () => this.SUBRULE(this.reportDecl) },
    ]);
  });

  /** scenario NAME */
  scenarioDecl = this.RULE("scenarioDecl", () => {
    this.CONSUME(T.Scenario);
    this.OR([
      { ALT: () => this.CONSUME(T.Word) },
      { ALT: () => this.CONSUME(T.StringLit) },
    ]);
  });

  /** seed N */
  seedDecl = this.RULE("seedDecl", () => {
    this.CONSUME(T.Seed);
    this.CONSUME(T.Quantity);
  });

  /** warmup TIME */
  warmupDecl = this.RULE("warmupDecl", () => {
    this.CONSUME(T.Warmup);
    this.CONSUME(T.Quantity);
  });

  /** include "path" */
  includeDecl = this.RULE("includeDecl", () => {
    this.CONSUME(T.Include);
    this.CONSUME(T.StringLit);
  });

  /** host [GPU] [{ ... }], or host NAME GPU [{ ... }] (one of several named hosts) */
  hostDecl = this.RULE("hostDecl", () => {
    this.CONSUME(T.Host);
    this.OPTION(() => {
      this.CONSUME(T.Identifier);
      this.OPTION3(() => this.CONSUME2(T.Identifier));
    });
    this.OPTION2(() => this.SUBRULE(this.hostBlock));
  });

  /** { (Sep | hostStmt)* } */
  hostBlock = this.RULE("hostBlock", () => {
    this.CONSUME(T.LCurly);
    this.MANY(() =>
      this.OR([
        { ALT: () => this.CONSUME(T.Sep) },
        { ALT: () => this.SUBRULE(this.hostStmt) },
      ])
    );
    this.CONSUME(T.RCurly);
  });

  /** hypervisor, scheduler, cost or a plain setting. */
  hostStmt = this.RULE("hostStmt", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.hypervisorDecl) },
      { ALT: () => this.SUBRULE(this.schedulerDecl) },
      { ALT: () => this.SUBRULE(this.costStmt) },
      { ALT: () => this.SUBRULE(this.setting) },
    ]);
  });

  /** hypervisor (NAME | "plugin.ts") [{ ... }] */
  hypervisorDecl = this.RULE("hypervisorDecl", () => {
    this.CONSUME(T.Hypervisor);
    this.OR([
      { ALT: () => this.CONSUME(T.Identifier) },
      { ALT: () => this.CONSUME(T.StringLit) },
    ]);
    this.OPTION(() => this.SUBRULE(this.hvBlock));
  });

  /** { (Sep | hvStmt)* } */
  hvBlock = this.RULE("hvBlock", () => {
    this.CONSUME(T.LCurly);
    this.MANY(() =>
      this.OR([
        { ALT: () => this.CONSUME(T.Sep) },
        { ALT: () => this.SUBRULE(this.hvStmt) },
      ])
    );
    this.CONSUME(T.RCurly);
  });

  /** param, fault, or a cost override (`mmio_exit 2us`). */
  hvStmt = this.RULE("hvStmt", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.paramStmt) },
      { ALT: () => this.SUBRULE(this.faultSpec) },
      { ALT: () => this.SUBRULE(this.setting) },
    ]);
  });

  /** param NAME value (a backend parameter in a hypervisor block, a scenario one at the top) */
  paramStmt = this.RULE("paramStmt", () => {
    this.CONSUME(T.Param);
    this.CONSUME(T.Identifier);
    this.SUBRULE(this.value);
  });

  /** fault OP ACTION [DELAY] (after N calls | for N calls | vm NAME | at TIME)* */
  faultSpec = this.RULE("faultSpec", () => {
    this.CONSUME(T.Fault);
    this.CONSUME(T.Identifier);
    this.CONSUME2(T.Identifier);
    this.OPTION(() => this.CONSUME(T.Quantity));
    this.MANY(() => this.SUBRULE(this.faultOpt));
  });

  /** One option of a fault rule. */
  faultOpt = this.RULE("faultOpt", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.After);
          this.CONSUME(T.Quantity);
          this.CONSUME(T.Calls);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.For);
          this.CONSUME2(T.Quantity);
          this.CONSUME2(T.Calls);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Vm);
          this.CONSUME(T.Identifier);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.At);
          this.CONSUME3(T.Quantity);
        },
      },
    ]);
  });

  /** scheduler POLICY [{ settings }] */
  schedulerDecl = this.RULE("schedulerDecl", () => {
    this.CONSUME(T.Scheduler);
    this.CONSUME(T.Identifier);
    this.OPTION(() => this.SUBRULE(this.settingsBlock));
  });

  /** cost COMMAND TIME */
  costStmt = this.RULE("costStmt", () => {
    this.CONSUME(T.Cost);
    this.OR([
      { ALT: () => this.CONSUME(T.Identifier) },
      { ALT: () => this.CONSUME(T.Quantity) },
      { ALT: () => this.CONSUME(T.StringLit) },
    ]);
    this.CONSUME2(T.Quantity);
  });

  /** NAME value* */
  setting = this.RULE("setting", () => {
    this.CONSUME(T.Identifier);
    this.MANY(() => this.SUBRULE(this.value));
  });

  /** A number (optionally negative), a string, a name, or a call such as `exp(2ms)`. */
  value = this.RULE("value", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.quantity) },
      {
        ALT: () => {
          this.CONSUME(T.Minus);
          this.CONSUME2(T.Quantity);
        },
      },
      { ALT: () => this.CONSUME(T.StringLit) },
      {
        ALT: () => {
          this.CONSUME(T.Word);
          this.OPTION(() => {
            this.CONSUME(T.LParen);
            this.OPTION2(() => {
              this.SUBRULE(this.value);
              this.MANY(() => {
                this.CONSUME(T.Comma);
                this.SUBRULE2(this.value);
              });
            });
            this.CONSUME(T.RParen);
          });
        },
      },
    ]);
  });

  /** { (Sep | setting)* } */
  settingsBlock = this.RULE("settingsBlock", () => {
    this.CONSUME(T.LCurly);
    this.MANY(() =>
      this.OR([
        { ALT: () => this.CONSUME(T.Sep) },
        { ALT: () => this.SUBRULE(this.setting) },
      ])
    );
    this.CONSUME(T.RCurly);
  });

  /** type NAME { settings } */
  typeDecl = this.RULE("typeDecl", () => {
    this.CONSUME(T.Type);
    this.CONSUME(T.Identifier);
    this.SUBRULE(this.settingsBlock);
  });

  /** vm NAME [ "[" N "]" ] { ... } */
  vmDecl = this.RULE("vmDecl", () => {
    this.CONSUME(T.Vm);
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.LBracket);
      this.CONSUME(T.Quantity);
      this.CONSUME(T.RBracket);
    });
    this.SUBRULE(this.vmBlock);
  });

  /** { (Sep | vmStmt)* } */
  vmBlock = this.RULE("vmBlock", () => {
    this.CONSUME(T.LCurly);
    this.MANY(() =>
      this.OR([
        { ALT: () => this.CONSUME(T.Sep) },
        { ALT: () => this.SUBRULE(this.vmStmt) },
      ])
    );
    this.CONSUME(T.RCurly);
  });

  /** type NAME | run WORKLOAD | host NAME | setting */
  vmStmt = this.RULE("vmStmt", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Host);
          this.CONSUME3(T.Identifier);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Type);
          this.CONSUME(T.Identifier);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Run);
          this.CONSUME2(T.Identifier);
        },
      },
      { ALT: () => this.SUBRULE(this.setting) },
    ]);
  });

  /** workload NAME { steps } */
  workloadDecl = this.RULE("workloadDecl", () => {
    this.CONSUME(T.Workload);
    this.CONSUME(T.Identifier);
    this.SUBRULE(this.opBlock);
  });

  /** { (Sep | op)* } */
  opBlock = this.RULE("opBlock", () => {
    this.CONSUME(T.LCurly);
    this.MANY(() =>
      this.OR([
        { ALT: () => this.CONSUME(T.Sep) },
        { ALT: () => this.SUBRULE(this.op) },
      ])
    );
    this.CONSUME(T.RCurly);
  });

  /** One workload step. */
  op = this.RULE("op", () => {
    this.OR([
      {
        // ENGINE batch [{ mix }]
        ALT: () => {
          this.CONSUME(T.Identifier);
          this.CONSUME(T.Batch);
          this.OPTION(() => this.SUBRULE(this.settingsBlock));
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Every);
          this.CONSUME(T.Quantity);
          this.SUBRULE(this.opBlock);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.At);
          this.CONSUME2(T.Quantity);
          this.SUBRULE2(this.opBlock);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Repeat);
          this.OR2([
            { ALT: () => this.CONSUME3(T.Quantity) },
            { ALT: () => this.CONSUME(T.Forever) },
          ]);
          this.SUBRULE3(this.opBlock);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Loop);
          this.SUBRULE4(this.opBlock);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Think);
          this.SUBRULE(this.value);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Wait);
          this.CONSUME2(T.Identifier);
        },
      },
      { ALT: () => this.CONSUME(T.Flip) },
      { ALT: () => this.SUBRULE(this.chooseOp) },
      {
        ALT: () => {
          this.CONSUME(T.Map_);
          this.SUBRULE2(this.value);
          this.OPTION5(() => this.CONSUME(T.Huge));
          this.OPTION2(() => this.CONSUME(T.Pages));
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Unmap);
          this.SUBRULE3(this.value);
          this.OPTION6(() => this.CONSUME2(T.Huge));
          this.OPTION3(() => this.CONSUME2(T.Pages));
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.PteRewrite);
          this.SUBRULE4(this.value);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Misbehave);
          this.CONSUME3(T.Identifier);
          this.OPTION4(() => this.CONSUME4(T.Quantity));
        },
      },
    ]);
  });

  /** choose { WEIGHT: { steps } ... } */
  chooseOp = this.RULE("chooseOp", () => {
    this.CONSUME(T.Choose);
    this.CONSUME(T.LCurly);
    this.MANY(() =>
      this.OR([
        { ALT: () => this.CONSUME(T.Sep) },
        {
          ALT: () => {
            this.CONSUME(T.Quantity);
            this.CONSUME(T.Colon);
            this.SUBRULE(this.opBlock);
          },
        },
      ])
    );
    this.CONSUME(T.RCurly);
  });

  /** timeline { (at TIME action | run DURATION)* } */
  timelineDecl = this.RULE("timelineDecl", () => {
    this.CONSUME(T.Timeline);
    this.CONSUME(T.LCurly);
    this.MANY(() =>
      this.OR([
        { ALT: () => this.CONSUME(T.Sep) },
        { ALT: () => this.SUBRULE(this.tlStmt) },
      ])
    );
    this.CONSUME(T.RCurly);
  });

  /** at TIME action | run DURATION */
  tlStmt = this.RULE("tlStmt", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.At);
          this.CONSUME(T.Quantity);
          this.SUBRULE(this.tlAction);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Run);
          this.CONSUME2(T.Quantity);
        },
      },
    ]);
  });

  /** fault ..., misbehave VM KIND [N], or ACTION value* (pause VM, weight VM N, policy P ...). */
  tlAction = this.RULE("tlAction", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.faultSpec) },
      {
        ALT: () => {
          this.CONSUME(T.Misbehave);
          this.CONSUME(T.Identifier);
          this.CONSUME2(T.Identifier);
          this.OPTION(() => this.CONSUME(T.Quantity));
        },
      },
      { ALT: () => this.SUBRULE(this.setting) },
    ]);
  });

  /** expect PREDICATE */
  expectDecl = this.RULE("expectDecl", () => {
    this.CONSUME(T.Expect);
    this.SUBRULE(this.predicate);
  });

  /** expr (CMP expr | within TOL of expr | is STATE) */
  predicate = this.RULE("predicate", () => {
    this.SUBRULE(this.expr);
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.CmpOp);
          this.SUBRULE2(this.expr);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Within);
          this.CONSUME(T.Quantity);
          this.CONSUME(T.Of);
          this.SUBRULE3(this.expr);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Is);
          this.CONSUME(T.Identifier);
        },
      },
    ]);
  });

  /** term (("+" | "-") term)* */
  expr = this.RULE("expr", () => {
    this.SUBRULE(this.term);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Plus) },
        { ALT: () => this.CONSUME(T.Minus) },
      ]);
      this.SUBRULE2(this.term);
    });
  });

  /** factor (("*" | "/") factor)* */
  term = this.RULE("term", () => {
    this.SUBRULE(this.factor);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Star) },
        { ALT: () => this.CONSUME(T.Slash) },
      ]);
      this.SUBRULE2(this.factor);
    });
  });

  /** "-" factor | primary */
  factor = this.RULE("factor", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Minus);
          this.SUBRULE(this.factor);
        },
      },
      { ALT: () => this.SUBRULE(this.primary) },
    ]);
  });

  /** NUMBER | call | "(" expr ")" */
  primary = this.RULE("primary", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Quantity) },
      { ALT: () => this.SUBRULE(this.call) },
      {
        ALT: () => {
          this.CONSUME(T.LParen);
          this.SUBRULE(this.expr);
          this.CONSUME(T.RParen);
        },
      },
    ]);
  });

  /** NAME "(" [arg ("," arg)*] ")" */
  call = this.RULE("call", () => {
    this.CONSUME(T.Identifier);
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      this.SUBRULE(this.arg);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.arg);
      });
    });
    this.CONSUME(T.RParen);
  });

  /** A VM, engine or percentile name, a string, a number, or a window (`2s..6s`, `1s..`). */
  arg = this.RULE("arg", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Word) },
      { ALT: () => this.CONSUME(T.StringLit) },
      { ALT: () => this.SUBRULE(this.quantity) },
    ]);
  });

  /** A number, or a measurement window: `A..B`, `A..` (to the end), `..B` (from 0). */
  quantity = this.RULE("quantity", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Quantity);
          this.OPTION(() => {
            this.CONSUME(T.DotDot);
            this.OPTION2(() => this.CONSUME2(T.Quantity));
          });
        },
      },
      {
        ALT: () => {
          this.CONSUME2(T.DotDot);
          this.CONSUME3(T.Quantity);
        },
      },
    ]);
  });

  /** report { settings } */
  reportDecl = this.RULE("reportDecl", () => {
    this.CONSUME(T.Report);
    this.SUBRULE(this.settingsBlock);
  });
}

/** The shared parser instance (self-analysis is done once, at module load). */
export const scenarioParser: ScenarioParser = new ScenarioParser();
