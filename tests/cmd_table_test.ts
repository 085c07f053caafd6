import assert from "node:assert/strict";
import {
  CMD_TYPE_2D,
  CMD_TYPE_MI,
  cmdId,
  cmdLength,
  COMMANDS,
  costTable,
  decode,
  F_LEN_CONST,
  F_SCAN_REJECT,
  header,
  ID,
  op2d,
  op3dMedia,
} from "../core/cmd/table.ts";
import * as enc from "../core/cmd/encode.ts";
import {
  CMD_GMA_QW,
  CMD_TYPE,
  cmdAddress,
  cmdReg,
  DISPLAY_FLIP_PLANE,
  flipPrimaryPipe,
  flipSurface,
  FLUSH_DW_USE_GTT,
  MI_USE_GGTT_BIT,
  NOTIFY,
  opcodeField,
  PIPE_CONTROL_GLOBAL_GTT,
  POST_SYNC_OP,
  POST_SYNC_WRITE_IMM,
  putCmdAddress,
} from "../core/cmd/fields.ts";
import {
  byteOf,
  fieldValue,
  getField,
  hi32,
  isSet,
  join64,
  lo32,
  withByte,
} from "../core/hw/bits.ts";

Deno.test("table: broad, unique names, every command decodes to itself on its engines", () => {
  assert.ok(COMMANDS.length >= 150, `only ${COMMANDS.length} commands`);
  assert.equal(new Set(COMMANDS.map((c) => c.name)).size, COMMANDS.length);
  COMMANDS.forEach((c, id) => {
    const len = c.flags & F_LEN_CONST ? c.len : c.validLen || 3;
    const dw0 = header(id, len);
    for (let e = 0; e < 4; e++) {
      const got = decode(dw0, e);
      if (c.rings & (1 << e)) {
        assert.equal(got, id, `${c.name} on engine ${e}`);
        assert.equal(cmdLength(id, dw0), len, c.name);
      } else assert.notEqual(got, id, `${c.name} must not decode on engine ${e}`);
    }
  });
});

Deno.test("table: opcodes are cmd_parser.c's OP_* values", () => {
  const op = (n: string) => COMMANDS[cmdId(n)].opcode;
  assert.equal(op("MI_STORE_DATA_IMM"), 0x20);
  assert.equal(op("MI_BATCH_BUFFER_START"), 0x31);
  assert.equal(op("XY_SRC_COPY_BLT"), op2d(0x53));
  assert.equal(op2d(0x53), 0x153);
  assert.equal(op("PIPE_CONTROL"), op3dMedia(3, 2, 0));
  assert.equal(op("PIPE_CONTROL"), 0x7a00);
  assert.equal(op("3DPRIMITIVE"), 0x7b00);
  assert.equal(op("MEDIA_OBJECT_WALKER"), 0x7103);
  assert.equal(op("GPGPU_WALKER"), 0x7105);
  assert.equal(COMMANDS[cmdId("MI_NOOP")].type, CMD_TYPE_MI);
  assert.equal(COMMANDS[cmdId("XY_COLOR_BLT")].type, CMD_TYPE_2D);
});

Deno.test("table: real dword encodings", () => {
  const out = new Uint32Array(32);
  enc.emitBatchBufferStart(out, 0, 0x1000, true);
  assert.equal(out[0], 0x18800101); // MI_BATCH_BUFFER_START_GEN8 | PPGTT
  enc.emitStoreDataImm(out, 0, 0x2000, 7, true);
  assert.equal(out[0], 0x10400002); // MI_STORE_DWORD_IMM_GEN4 | MI_USE_GGTT
  enc.emitLri(out, 0, 0x2600, 1);
  assert.equal(out[0], 0x11000001); // MI_LOAD_REGISTER_IMM(1)
  enc.emitPipeControl(out, 0, 0, -1, 0, false, false);
  assert.equal(out[0], 0x7a000004); // GFX_OP_PIPE_CONTROL(6)
  enc.emitXySrcCopyBlt(out, 0, 0, 64, 0, 0, 16, 16, 0, 64, 0, 0);
  assert.equal(out[0], 0x54f00008); // XY_SRC_COPY_BLT_CMD | WRITE_ALPHA | WRITE_RGB | 8
  assert.equal(enc.emitBatchBufferEnd(out, 0), 1);
  assert.equal(out[0], 0x05000000);
  enc.emitUserInterrupt(out, 0);
  assert.equal(out[0], 0x01000000);
  enc.emitFlushDw(out, 0, 0x3000, 1, true, false);
  assert.equal(out[0] >>> 23, 0x26);
  assert.equal(cmdLength(decode(out[0], 1), out[0]), 4);
});

Deno.test("table: unknown headers do not decode", () => {
  assert.equal(decode(0x0d800000 | (0x3f << 23), 0), -1); // MI opcode 0x3f
  assert.equal(decode(0xffffffff, 0), -1);
  assert.equal(decode(header(ID.XY_SRC_COPY_BLT, 10), 0), -1); // blits only on BCS
  assert.equal(decode(header(ID["3DPRIMITIVE"], 7), 1), -1);
});

Deno.test("table: scanner-rejected commands are flagged and encodable", () => {
  const rejected = COMMANDS.filter((c) => c.flags & F_SCAN_REJECT).map((c) => c.name).sort();
  assert.deepEqual(rejected, [
    "MI_CLFLUSH",
    "MI_CONDITIONAL_BATCH_BUFFER_END",
    "MI_OP_2E",
    "MI_REPORT_PERF_COUNT",
    "MI_SEMAPHORE_WAIT",
    "MI_STORE_DATA_INDEX",
    "MI_UPDATE_GTT",
  ]);
  const cases: [(out: Uint32Array) => number, number, number][] = [
    [(o) => enc.emitUpdateGtt(o, 0, 0, 3, 2), ID.MI_UPDATE_GTT, 6],
    [(o) => enc.emitSemaphoreWait(o, 0, 0x1000, 1), ID.MI_SEMAPHORE_WAIT, 4],
    [(o) => enc.emitReportPerfCount(o, 0, 0x1000, 1), ID.MI_REPORT_PERF_COUNT, 4],
    [(o) => enc.emitStoreDataIndex(o, 0, 4, 1), ID.MI_STORE_DATA_INDEX, 3],
    [(o) => enc.emitClflush(o, 0, 0x1000), ID.MI_CLFLUSH, 3],
    [
      (o) => enc.emitConditionalBatchBufferEnd(o, 0, 0x1000, 1),
      ID.MI_CONDITIONAL_BATCH_BUFFER_END,
      4,
    ],
  ];
  for (const [emit, id, len] of cases) {
    const out = new Uint32Array(16);
    assert.equal(emit(out), len);
    assert.equal(decode(out[0], 0), id, COMMANDS[id].name);
    assert.equal(cmdLength(id, out[0]), len, COMMANDS[id].name);
  }
});

Deno.test("table: cost overrides by name; unknown names reported", () => {
  const { cost, unknown } = costTable({ "3DPRIMITIVE": 123, NOT_A_COMMAND: 1 });
  assert.equal(cost[ID["3DPRIMITIVE"]], 123);
  assert.equal(cost[ID.MI_NOOP], COMMANDS[ID.MI_NOOP].cost);
  assert.deepEqual(unknown, ["NOT_A_COMMAND"]);
});

Deno.test("fields: command fields round-trip through the encoder, the decoder and the readers", () => {
  // header fields: the type bits and the opcode of every command, whatever its free bits
  COMMANDS.forEach((c, id) => {
    const dw0 = header(id, c.flags & F_LEN_CONST ? c.len : c.validLen || 3);
    assert.equal(getField(dw0, CMD_TYPE), c.type, c.name);
    assert.equal(getField(dw0, opcodeField(c.type)), c.opcode, c.name);
  });
  assert.equal(
    decode(header(ID.MI_STORE_DATA_IMM, 4) | MI_USE_GGTT_BIT.mask, 0),
    ID.MI_STORE_DATA_IMM,
  );
  // addresses: 48-bit graphics addresses in two dwords, alignment per field
  const out = new Uint32Array(4);
  putCmdAddress(out, 1, 0x1234_5678_9abc, CMD_GMA_QW, FLUSH_DW_USE_GTT.mask);
  assert.deepEqual([...out.subarray(1, 3)], [0x5678_9ab8 | 4, 0x1234]);
  assert.equal(cmdAddress(out, 1, CMD_GMA_QW), 0x1234_5678_9ab8);
  assert.equal(cmdReg(0x0000_229d), 0x229c);
  // the encoder writes what the streamer and the scanner read back
  const buf = new Uint32Array(6);
  enc.emitPipeControl(buf, 0, 0, 0x2000, 7, true, true);
  assert.equal(getField(buf[1], POST_SYNC_OP), POST_SYNC_WRITE_IMM);
  assert.ok(isSet(buf[1], NOTIFY) && isSet(buf[1], PIPE_CONTROL_GLOBAL_GTT));
  assert.equal(cmdAddress(buf, 2, CMD_GMA_QW), 0x2000);
  const flip = new Uint32Array(3);
  for (const pipe of [0, 1, 2]) {
    enc.emitDisplayFlip(flip, 0, pipe, 0x4000, 0x10_0000);
    assert.equal(flipPrimaryPipe(flip[0]), pipe);
    assert.equal(flipSurface(flip[2]), 0x10_0000);
  }
  assert.equal(flipPrimaryPipe(fieldValue(DISPLAY_FLIP_PLANE, 2)), -1, "a sprite plane");
  // 64-bit quantities and bytes
  assert.deepEqual([lo32(2 ** 40 + 5), hi32(2 ** 40 + 5)], [5, 256]);
  assert.equal(join64(0xffffffff, 0x7f), 2 ** 39 - 1);
  assert.equal(withByte(0x11223344, 2, 0xab), 0x11ab3344);
  assert.equal(byteOf(0x11223344, 3), 0x11);
});
