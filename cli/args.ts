/** Value parsers for the CLI's quantities (sizes, durations), sharing core/units.ts. */

import { message } from "@optique/core/message";
import type { ValueParser, ValueParserResult } from "@optique/core/valueparser";
import { parseDuration, parseSize } from "../core/units.ts";

function quantity(
  metavar: string,
  parse: (s: string) => number | undefined,
  example: string,
): ValueParser<"sync", number> {
  return {
    mode: "sync",
    metavar: metavar as "SIZE",
    placeholder: 0,
    parse(input: string): ValueParserResult<number> {
      const v = parse(input);
      return v === undefined
        ? {
          success: false,
          error: message`Expected a ${metavar.toLowerCase()} like ${example}, got ${input}.`,
        }
        : { success: true, value: v };
    },
    format: (v: number) => String(v),
  };
}

/** A size such as 512MiB (bytes). */
export const size = (): ValueParser<"sync", number> => quantity("SIZE", parseSize, "512MiB");
/** A duration such as 5s or 16.7ms (ns). */
export const duration = (): ValueParser<"sync", number> =>
  quantity("DURATION", parseDuration, "5s");
