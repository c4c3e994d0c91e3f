export {
  ABI_VERSION,
  ABI_VERSION_SIGNATURE,
  ALLOC_SIGNATURE,
  EXPORT_ABI_VERSION,
  EXPORT_ALLOC,
  EXPORT_MEMORY,
  HANDLER_SIGNATURE,
  HOST_FUNCTIONS_V1,
  HOST_STATUS,
  HOST_MODULE,
  RESERVED_EXPORTS,
  isHostFunctionName,
  type HostFunctionName,
  type HostFunctionSpec,
  type HostStatus,
  type PluginCapability,
} from './abi-v1.contract.js';
export { WasmBinaryReader, WasmFormatError } from './wasm-binary.reader.js';
export { WasmBinaryWriter } from './wasm-binary.writer.js';
export { InstructionKind, readInstruction, WasmInstructionIterator, WasmRewriteError, type WasmInstruction, type WasmUnsupportedFeature } from './wasm-instruction.decoder.js';
export { METERING_EXPORTS, RESERVED_EXPORT_PREFIX, meterWasmModule, type MeteredWasmModule, type MeterWasmOptions, type WriteTracking } from './wasm-metering.rewriter.js';
export { formatSignature, inspectWasmModule, readFunctionBody } from './wasm-module.inspector.js';
export {
  exportedMemoryLimits,
  validatePluginModule,
  type PluginMemoryInfo,
  type PluginModuleProblem,
  type PluginModuleProblemKind,
  type PluginModuleReport,
  type ValidatePluginModuleOptions,
} from './plugin-module.validator.js';
export type * from './wasm-module.types.js';
export { inspectPluginModule, type InspectedImport, type InspectPluginModuleOptions, type PluginModuleInspection } from './plugin-module.inspection.js';
