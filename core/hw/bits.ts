/**
 * Named bit fields, the way i915 declares them (`REG_GENMASK(hi, lo)`, `REG_FIELD_GET`,
 * the `execlist_status_format` bit-field structs of gvt/execlist.h) and masked registers
 * (`_MASKED_BIT_ENABLE`, `IS_MASKED_BITS_ENABLED` of i915_reg.h / gvt/mmio.h). Every
 * register field in the register tables is a {@link BitField}; code reads and writes fields
 * through {@link getField} / {@link setField} instead of shifting by hand.
 */

/** A field of bits `hi..lo` (inclusive) of a 32-bit register. */
export interface BitField {
  /** Lowest bit. */
  readonly lo: number;
  /** Width in bits. */
  readonly width: number;
  /** The field's bits in place (`REG_GENMASK(hi, lo)`), unsigned. */
  readonly mask: number;
}

/** The field of bits `hi..lo` (inclusive; `field(3, 3)` is one bit). */
export function field(hi: number, lo: number): BitField {
  if (hi < lo || lo < 0 || hi > 31) throw new RangeError(`bad bit field ${hi}:${lo}`);
  const width = hi - lo + 1;
  const mask = width === 32 ? 0xffffffff : (((2 ** width) - 1) * 2 ** lo) >>> 0;
  return { lo, width, mask };
}

/** A one-bit field. */
export function bit(n: number): BitField {
  return field(n, n);
}

/** The value of field `f` in `v` (`REG_FIELD_GET`). */
export function getField(v: number, f: BitField): number {
  return (v & f.mask) >>> f.lo;
}

/** `v` with field `f` set to `x` (excess bits of `x` dropped). */
export function setField(v: number, f: BitField, x: number): number {
  return ((v & ~f.mask) | ((x << f.lo) & f.mask)) >>> 0;
}

/** `x` placed in field `f` (`REG_FIELD_PREP`). */
export function fieldValue(f: BitField, x: number): number {
  return ((x << f.lo) & f.mask) >>> 0;
}

/** True if the one-bit (or any bit of the) field `f` is set in `v`. */
export function isSet(v: number, f: BitField): boolean {
  return (v & f.mask) !== 0;
}

/** Masked-register write enabling `bits` (`_MASKED_BIT_ENABLE`): the bits and their enables. */
export function maskedEnable(bits: number): number {
  return ((bits << 16) | bits) >>> 0;
}

/** Masked-register write disabling `bits` (`_MASKED_BIT_DISABLE`). */
export function maskedDisable(bits: number): number {
  return (bits << 16) >>> 0;
}

/** True if a masked write `v` sets every bit of `bits` (`IS_MASKED_BITS_ENABLED`). */
export function isMaskedEnabled(v: number, bits: number): boolean {
  return ((v >>> 16) & bits) === bits && (v & bits) === bits;
}

/** True if a masked write `v` clears every bit of `bits` (`IS_MASKED_BITS_DISABLED`). */
export function isMaskedDisabled(v: number, bits: number): boolean {
  return ((v >>> 16) & bits) === bits && (v & bits) === 0;
}

/**
 * The value a masked register holds after writing `v` over `old`: the upper 16 bits of `v`
 * select which of the lower 16 change (`CALC_MODE_MASK_REG` without the enables).
 */
export function maskedMerge(old: number, v: number): number {
  const m = v >>> 16;
  return ((old & ~m) | (v & m)) & 0xffff;
}

/**
 * A 64-bit quantity (an address, a page-table entry, a counter) as a JavaScript number and
 * its two dwords, the way registers, GTT entries and command addresses hold it. Exact up to
 * 2^53.
 */
const TWO32 = 4294967296;

/** The low dword of `v` (`lower_32_bits`). */
export function lo32(v: number): number {
  return v % TWO32 >>> 0;
}

/** The high dword of `v` (`upper_32_bits`). */
export function hi32(v: number): number {
  return Math.floor(v / TWO32) >>> 0;
}

/** The number whose low dword is `lo` and high dword `hi`. */
export function join64(lo: number, hi: number): number {
  return (lo >>> 0) + (hi >>> 0) * TWO32;
}

/** Byte `i` (0-3, little-endian) of dword `v`. */
export function byteOf(v: number, i: number): number {
  return (v >>> (i * 8)) & 0xff;
}

/** Dword `v` with its byte `i` (0-3, little-endian) replaced by `b`. */
export function withByte(v: number, i: number, b: number): number {
  const sh = i * 8;
  return ((v & ~(0xff << sh)) | ((b & 0xff) << sh)) >>> 0;
}

/**
 * The `size` bytes (1 to 4) at byte `at` of the little-endian value `v` (a dword, or a
 * 64-bit value up to 2^53 with `at + size <= 8`): a sub-dword or unaligned register read.
 */
export function bytesAt(v: number, at: number, size: number): number {
  const shifted = Math.floor(v / 2 ** (8 * at));
  return size >= 4 ? lo32(shifted) : shifted % 2 ** (8 * size);
}

/**
 * Dword `v` with its `size` bytes (1 to 4) at byte `at` (`at + size <= 4`) replaced by the
 * low bytes of `x`: a sub-dword register write.
 */
export function withBytes(v: number, at: number, size: number, x: number): number {
  const sh = at * 8, m = size >= 4 ? 0xffffffff : (1 << (8 * size)) - 1;
  return ((v & ~(m << sh)) | ((x & m) << sh)) >>> 0;
}

/** The dword stored as four little-endian bytes at `off` of `bytes` (see {@link putLe32}). */
export function le32(bytes: Uint8Array, off: number): number {
  return (bytes[off] | (bytes[off + 1] << 8) | (bytes[off + 2] << 16) | (bytes[off + 3] << 24)) >>>
    0;
}

/** Stores `v` as four little-endian bytes at `off` of `bytes` (the GPU's byte order). */
export function putLe32(bytes: Uint8Array, off: number, v: number): void {
  for (let i = 0; i < 4; i++) bytes[off + i] = byteOf(v, i);
}
