/**
 * The virtual monitor's EDID (i915 gvt/edid.c exposes a virtual DP monitor per vGPU): a
 * 128-byte EDID 1.4 base block whose preferred detailed timing has the vGPU type's
 * resolution at 60 Hz (CVT reduced-blanking figures), with a valid checksum.
 */

/** Size of an EDID base block. */
export const EDID_SIZE = 128;

const HEADER = [0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00];

/** Builds the EDID of a `width` x `height` virtual monitor. */
export function buildEdid(width: number, height: number): Uint8Array {
  const e = new Uint8Array(EDID_SIZE);
  e.set(HEADER, 0);
  // Manufacturer "GVT" (compressed ASCII), product 0x1, serial 1, week 1, year 2016.
  const m = ((7 & 31) << 10) | ((22 & 31) << 5) | (20 & 31);
  e[8] = m >> 8;
  e[9] = m & 0xff;
  e[10] = 0x01;
  e[12] = 0x01;
  e[16] = 1;
  e[17] = 2016 - 1990;
  e[18] = 1; // EDID 1.4
  e[19] = 4;
  e[20] = 0xa5; // digital input, 8 bits per colour, DisplayPort
  e[21] = Math.round(width * 0.0254 / 9.6); // ~96 dpi in cm
  e[22] = Math.round(height * 0.0254 / 9.6);
  e[23] = 120; // gamma 2.2
  e[24] = 0x06; // RGB 4:4:4, preferred timing includes native format
  for (let i = 38; i < 54; i++) e[i] = 0x01; // no standard timings
  // Detailed timing descriptor 1 (CVT reduced blanking: hblank 160, vblank ~ 3 % + 6).
  const hBlank = 160, vBlank = Math.max(23, Math.ceil(height * 0.03) + 6);
  const clock = Math.round(((width + hBlank) * (height + vBlank) * 60) / 10_000); // 10 kHz
  const d = 54;
  e[d] = clock & 0xff;
  e[d + 1] = clock >> 8;
  e[d + 2] = width & 0xff;
  e[d + 3] = hBlank & 0xff;
  e[d + 4] = ((width >> 8) << 4) | (hBlank >> 8);
  e[d + 5] = height & 0xff;
  e[d + 6] = vBlank & 0xff;
  e[d + 7] = ((height >> 8) << 4) | (vBlank >> 8);
  e[d + 8] = 48; // hsync offset
  e[d + 9] = 32; // hsync width
  e[d + 10] = (3 << 4) | 6; // vsync offset 3, width 6
  e[d + 12] = e[21] * 10 & 0xff;
  e[d + 13] = e[22] * 10 & 0xff;
  e[d + 14] = (((e[21] * 10) >> 8) << 4) | ((e[22] * 10) >> 8);
  e[d + 17] = 0x1a; // digital separate sync, +hsync -vsync
  // Descriptor 2: monitor name "GVT-g vGPU".
  const n = 72;
  e[n + 3] = 0xfc;
  const name = "GVT-g vGPU\n  ";
  for (let i = 0; i < 13; i++) e[n + 5 + i] = name.charCodeAt(i);
  // Descriptors 3 and 4: dummy.
  e[90 + 3] = 0x10;
  e[108 + 3] = 0x10;
  let sum = 0;
  for (let i = 0; i < 127; i++) sum += e[i];
  e[127] = (256 - (sum & 0xff)) & 0xff;
  return e;
}

/** The resolution of an EDID's preferred detailed timing. */
export function edidResolution(e: Uint8Array): { width: number; height: number } {
  return {
    width: e[56] | ((e[58] >> 4) << 8),
    height: e[59] | ((e[61] >> 4) << 8),
  };
}
