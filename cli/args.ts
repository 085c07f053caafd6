/** Value parsers for the CLI's quantities (sizes, durations), sharing core/units.ts. */

import { message, text } from "@optique/core/message";
import type { ValueParser, ValueParserResult } from "@optique/core/valueparser";
import { parseDuration, parseSize } from "../core/units.ts";
import { MAX_RUN_NS } from "../dsl/checker.ts";

function quantity(
  metavar: string,
  parse: (s: string) => number | undefined,
  example: string,
  range?: { min: number; max: number; text: string },
): ValueParser<"sync", number> {
  return {
    mode: "sync",
    metavar: metavar as "SIZE",
    placeholder: 0,
    parse(input: string): ValueParserResult<number> {
      const v = parse(input);
      if (v === undefined) {
        return {
          success: false,
          error: message`Expected a ${text(metavar.toLowerCase())} like ${
            text(example)
          }, got ${input}.`,
        };
      }
      if (range && !(v >= range.min && v <= range.max)) {
        return {
          success: false,
          error: message`Expected a ${text(metavar.toLowerCase())} ${
            text(range.text)
          }, got ${input}.`,
        };
      }
      return { success: true, value: v };
    },
    format: (v: number) => String(v),
  };
}

/** A size such as 512MiB (bytes). */
export const size = (): ValueParser<"sync", number> => quantity("SIZE", parseSize, "512MiB");
/**
 * A duration such as 5s or 16.7ms (ns), at most as long as a scenario's run may be (24h);
 * `min` 1us for a run length, 0 for a point in time.
 */
export const duration = (min = 1000): ValueParser<"sync", number> =>
  quantity("DURATION", parseDuration, "5s", {
    min,
    max: MAX_RUN_NS,
    text: `between ${min === 0 ? "0s" : "1us"} and 24h (86400s)`,
  });
