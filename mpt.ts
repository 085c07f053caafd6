/**
 * The gvtsim plugin SDK (`@gvtsim/gvtsim/mpt`): everything a hypervisor backend is written
 * against and checked with. Import it by package name from a plugin project:
 *
 * ```ts
 * import { type BackendFactory, MPT_CONTRACT_VERSION, MPT_OK } from "@gvtsim/gvtsim/mpt";
 * const create: BackendFactory = (ctx) => ({ name: "mygt", contract: MPT_CONTRACT_VERSION, ... });
 * export default create;
 * ```
 *
 * - The contract: {@link MptBackend}, {@link BackendContext}, {@link GvtOps}, the op table
 *   {@link MPT_OPS} (required/optional, failure values, fallbacks, default costs) and
 *   {@link MPT_CONTRACT_VERSION}, which a backend declares as `contract`.
 * - Helpers: PCI config-space facts to follow the guest's MSI set-up, saved-state readers for
 *   `save`/`restore`, per-frame state that costs nothing for frames never touched
 *   ({@link LazyInt32Array}: a guest may have a terabyte of RAM), a display console's refresh,
 *   and the pieces most backends share: the cost-parameter rule ({@link costParam}), the trap
 *   area ({@link TrapArea}), charged guest-memory copies ({@link copyGpa}), plain guest stores
 *   ({@link GuestStore}) and host-physical DMA addresses ({@link hostDmaAddress}).
 * The conformance kit that checks a backend is the SDK's other entry, `@gvtsim/gvtsim/kit`
 * (kit.ts); this one stays small so a bundled backend carries nothing else.
 * @module
 */

export * from "./core/mpt/types.ts";
export {
  GATED_OPS,
  MPT_OPS,
  type MptCalled,
  mptOp,
  type MptOpSpec,
  mptOpTable,
  type MptReturn,
  type MptWrong,
  OPTIONAL_OP_NAMES,
  REQUIRED_OP_NAMES,
} from "./core/mpt/ops.ts";
export * from "./core/mpt/pci.ts";
export { type ConsoleRefresh, refreshConsole } from "./core/mpt/display.ts";
export {
  allOnes,
  bool,
  loadSparseBytes,
  loadSparseFrames,
  num,
  packNumbers,
  positions,
  record,
  rows,
  sparseBytes,
  sparseFrames,
  unpackNumbers,
} from "./core/mpt/saved_state.ts";
export { LazyInt32Array } from "./core/hw/lazy_array.ts";
export {
  copyGpa,
  costParam,
  declareDefaultCosts,
  DmaCache,
  type DmaMapping,
  gfnBacked,
  GuestStore,
  hostDmaAddress,
  TrapArea,
} from "./core/mpt/backend_helpers.ts";
