/**
 * Typed faults of the physical GPU model. Nothing in core/hw throws on bad input: MMIO and
 * GTT accesses return a fault object, command-streamer faults hang the engine's context and
 * are recorded as {@link CommandFault}s.
 */

/** Why an MMIO / GTT-window / config-space access was refused. */
export type MmioFaultKind = "misaligned" | "out_of_range" | "too_large";

/** A refused BAR0 or config-space access. */
export class MmioFault {
  /** Discriminator for narrowing. */
  readonly fault = "mmio" as const;
  /**
   * Creates the instance.
   * @param kind what was wrong
   * @param offset the BAR0 (or config) offset accessed
   * @param size the access size in bytes
   * @param write true for a write
   */
  constructor(
    readonly kind: MmioFaultKind,
    readonly offset: number,
    readonly size: number,
    readonly write: boolean,
  ) {}

  /** Human-readable description. */
  toString(): string {
    const hex = this.offset.toString(16);
    return `mmio ${
      this.write ? "write" : "read"
    } fault (${this.kind}) at 0x${hex} size ${this.size}`;
  }
}

/** Why a GGTT entry access was refused. */
export type GttFaultKind = "out_of_range";

/** A refused GGTT entry access. */
export class GttFault {
  /** Discriminator for narrowing. */
  readonly fault = "gtt" as const;
  /**
   * Creates the instance.
   * @param kind what was wrong
   * @param index the entry index
   */
  constructor(readonly kind: GttFaultKind, readonly index: number) {}

  /** Human-readable description. */
  toString(): string {
    return `ggtt fault (${this.kind}) at index ${this.index}`;
  }
}

/** Why the command streamer stopped a context. */
export type CommandFaultKind =
  | "unknown_command" // dw0 does not decode on this engine
  | "bad_length" // a fixed-length command with another length
  | "bad_address" // a graphics address with no present translation / outside memory
  | "isolation" // a write to a frame owned by someone other than the context's owner
  | "bb_nesting" // batch-buffer start from a 2nd-level batch, or 2nd level from the ring
  | "privilege" // a privileged command in a non-privileged (PPGTT) batch
  | "bad_context" // invalid context descriptor / context image not mapped
  | "bad_ring" // ring not valid or head/tail outside it
  | "runaway"; // too many commands in one submission (a batch looping on itself)

/** A command-streamer fault: the engine's context is hung until an engine reset. */
export class CommandFault {
  /** Discriminator for narrowing. */
  readonly fault = "command" as const;
  /**
   * Creates the instance.
   * @param kind what was wrong
   * @param engine engine id
   * @param contextId the context id from the descriptor
   * @param owner the context's owner tag
   * @param gma graphics address of the offending command (or target address)
   * @param dw0 the offending command's first dword (0 if none)
   * @param time simulated time of the fault (ns)
   * @param detail free text (e.g. the command name)
   */
  constructor(
    readonly kind: CommandFaultKind,
    readonly engine: number,
    readonly contextId: number,
    readonly owner: number,
    readonly gma: number,
    readonly dw0: number,
    readonly time: number,
    readonly detail: string,
  ) {}

  /** Human-readable description. */
  toString(): string {
    return `engine ${this.engine} ctx ${this.contextId} owner ${this.owner}: ${this.kind} at gma 0x${
      this.gma.toString(16)
    } dw0 0x${(this.dw0 >>> 0).toString(16)} ${this.detail}`;
  }
}

/** Any hardware fault. */
export type HwFault = MmioFault | GttFault | CommandFault;

/** True if `x` is one of the hardware fault classes. */
export function isFault(x: unknown): x is HwFault {
  return x instanceof MmioFault || x instanceof GttFault || x instanceof CommandFault;
}
