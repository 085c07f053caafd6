/**
 * Display registers the model uses: per pipe the transcoder configuration, frame and flip
 * counters and the primary plane, and the DP AUX channels (the virtual monitor's EDID is
 * read over its AUX channel, as i2c-over-AUX).
 *
 * Sources (Linux drivers/gpu/drm/i915/): i915_reg.h / display/intel_display_regs
 * (TRANSCONF/PIPECONF 0x70008, PIPE_FRMCOUNT_G4X 0x70040, DSPCNTR 0x70180, DSPSTRIDE
 * 0x70188, DSPSURF 0x7019c, DSPSURFLIVE 0x701ac, pipe stride 0x1000; TRANS_ENABLE bit 31,
 * TRANS_STATE_ENABLE bit 30); gvt/handlers.c `pipeconf_mmio_write`, `pri_surf_mmio_write`
 * (PIPE_FLIPCOUNT_G4X 0x70044), `dp_aux_ch_ctl_mmio_write` (`_REG_SKL_DP_AUX_CH_CTL(port)`
 * = 0x64010 + 0x100 port on gen9, `_PCH_DPB_AUX_CH_CTL` 0xe4110 + 0x100 (port - 1) on
 * Broadwell); display/intel_dp_aux_regs.h (DP_AUX_CH_CTL_* bits).
 */

import { bit, field } from "../bits.ts";
import { D_ALL, D_BDW, D_SKL_PLUS } from "../platform.ts";
import { type RegRow, SEM_DSPSURF, SEM_PIPECONF } from "./row.ts";

/** Number of display pipes. */
export const NUM_PIPES = 3;
/** Stride between pipes' registers. */
export const PIPE_STRIDE = 0x1000;

/** TRANSCONF / PIPECONF fields. */
export const PIPECONF_FIELDS = {
  /** TRANS_ENABLE. */
  enable: bit(31),
  /** TRANS_STATE_ENABLE (read-only: the pipe runs). */
  state: bit(30),
} as const;

/** DSPCNTR (primary plane control) fields. */
export const DSPCNTR_FIELDS = {
  /** DISP_ENABLE: the plane scans out. */
  enable: bit(31),
} as const;

/** DP_AUX_CH_CTL fields. */
export const AUX_CTL_FIELDS = {
  /** DP_AUX_CH_CTL_SEND_BUSY: start a transaction. */
  sendBusy: bit(31),
  /** DP_AUX_CH_CTL_DONE. */
  done: bit(30),
  /** DP_AUX_CH_CTL_INTERRUPT. */
  interrupt: bit(29),
  /** DP_AUX_CH_CTL_TIME_OUT_ERROR. */
  timeout: bit(28),
  /** DP_AUX_CH_CTL_RECEIVE_ERROR. */
  receiveError: bit(25),
  /** DP_AUX_CH_CTL_MESSAGE_SIZE: bytes in the data registers. */
  messageSize: field(24, 20),
} as const;

/** First AUX data dword as gvt/edid.c reads a request: command, address, length. */
export const AUX_MSG_FIELDS = {
  /** Request command (bits 7:4 of the first byte: native/i2c, read/write, MOT). */
  op: field(31, 28),
  /** Address (i2c slave or DPCD address). */
  address: field(23, 8),
  /** Length minus one. */
  length: field(7, 0),
  /** Reply byte of an i2c read (second byte of the reply). */
  replyData: field(23, 16),
  /** Reply command (ACK 0). */
  reply: field(31, 24),
} as const;

/** The pipe rows (A, B, C). */
function pipeRows(): RegRow[] {
  const rows: RegRow[] = [];
  for (let p = 0; p < NUM_PIPES; p++) {
    const s = p * PIPE_STRIDE, n = "ABC"[p];
    rows.push(
      {
        name: `PIPE${n}CONF`,
        group: "PIPECONF",
        offset: 0x70008 + s,
        sem: SEM_PIPECONF,
        unit: p,
        roMask: PIPECONF_FIELDS.state.mask,
        fields: PIPECONF_FIELDS,
      },
      {
        name: `PIPE${n}_FRMCOUNT`,
        group: "PIPE_FRMCOUNT",
        offset: 0x70040 + s,
        access: "ro",
        unit: p,
      },
      {
        name: `PIPE${n}_FLIPCOUNT`,
        group: "PIPE_FLIPCOUNT",
        offset: 0x70044 + s,
        access: "ro",
        unit: p,
      },
      {
        name: `DSP${n}CNTR`,
        group: "DSPCNTR",
        offset: 0x70180 + s,
        fields: DSPCNTR_FIELDS,
        unit: p,
      },
      { name: `DSP${n}STRIDE`, group: "DSPSTRIDE", offset: 0x70188 + s, unit: p },
      {
        name: `DSP${n}SURF`,
        group: "DSPSURF",
        offset: 0x7019c + s,
        gmadr: true,
        sem: SEM_DSPSURF,
        unit: p,
      },
      {
        name: `DSP${n}SURFLIVE`,
        group: "DSPSURFLIVE",
        offset: 0x701ac + s,
        access: "ro",
        unit: p,
      },
    );
  }
  return rows;
}

/** An AUX channel: control plus five data registers. */
function auxRows(name: string, ctl: number, exists: number): RegRow[] {
  return [
    {
      name: `${name}_AUX_CH_CTL`,
      group: "AUX_CH_CTL",
      offset: ctl,
      exists,
      fields: AUX_CTL_FIELDS,
    },
    {
      name: `${name}_AUX_CH_DATA`,
      group: "AUX_CH_DATA",
      offset: ctl + 4,
      count: 5,
      exists,
      nameOf: (i) => `${name}_AUX_CH_DATA${i + 1}`,
      fields: AUX_MSG_FIELDS,
    },
  ];
}

/** The display rows. */
export const DISPLAY_ROWS: readonly RegRow[] = [
  // Display error mask; a command load of it is patched away (cmd_parser.c cmd_reg_handler).
  { name: "DERRMR", offset: 0x44050 },
  ...pipeRows(),
  ...auxRows("DPA", 0x64010, D_ALL),
  ...auxRows("DPB", 0x64110, D_SKL_PLUS),
  ...auxRows("DPC", 0x64210, D_SKL_PLUS),
  ...auxRows("DPD", 0x64310, D_SKL_PLUS),
  ...auxRows("PCH_DPB", 0xe4110, D_BDW),
  ...auxRows("PCH_DPC", 0xe4210, D_BDW),
  ...auxRows("PCH_DPD", 0xe4310, D_BDW),
];
