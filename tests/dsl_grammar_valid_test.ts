/**
 * The scenario grammar and token set are validated here, once, instead of on every start
 * (dsl/parser.ts and dsl/lexer.ts build their shared instances with Chevrotain's validations
 * off: a third of the parser's set-up).
 */
import assert from "node:assert/strict";
import { createToken, Lexer, type TokenType } from "chevrotain";
import { ScenarioParser, scenarioParser } from "../dsl/parser.ts";
import { ALL_TOKENS, LEXER_CONFIG, scenarioLexer } from "../dsl/lexer.ts";

Deno.test("grammar: the scenario grammar passes Chevrotain's validations", () => {
  // throws "Parser Definition Errors detected" on an ambiguous or left-recursive grammar
  const p = new ScenarioParser({ validate: true });
  const field = <K extends string>(x: object, k: K) => (x as Record<K, unknown>)[k];
  assert.deepEqual(field(p, "definitionErrors"), []);
  assert.equal(field(p, "skipValidations"), false, "this instance was validated");
  assert.equal(field(scenarioParser, "skipValidations"), true, "the shared instance skips it");
});

Deno.test("grammar: the token set passes the lexer's validations", () => {
  const lexer = new Lexer(ALL_TOKENS as TokenType[], LEXER_CONFIG);
  assert.deepEqual(lexer.lexerDefinitionErrors, []);
  assert.deepEqual(scenarioLexer.lexerDefinitionErrors, []);
  // the same options do validate: a token that can never match is reported
  const Dup = createToken({ name: "Dup", pattern: /scenario/ });
  const bad = new Lexer([...ALL_TOKENS as TokenType[], Dup], {
    ...LEXER_CONFIG,
    deferDefinitionErrorsHandling: true,
  });
  assert.ok(bad.lexerDefinitionErrors.length > 0);
});
