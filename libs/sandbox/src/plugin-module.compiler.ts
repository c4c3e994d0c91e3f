// Meters a plugin's module and compiles the result once per digest, naming what a module cannot do in the sandbox.
import { ForgeOneError } from '@forgeone/contracts';
import { meterWasmModule, WasmFormatError, WasmRewriteError } from '@forgeone/plugin-abi';
import type { GuestModulePlan } from './guest.runtime.js';

const engine = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<unknown> } }).WebAssembly;

export interface CompiledPlugin {
  readonly module: unknown;
  readonly memoryMaxPages: number;
  readonly plan: GuestModulePlan;
}

export async function compileMetered(key: string, wasm: Uint8Array, capPages: number): Promise<CompiledPlugin> {
  let metered;
  try {
    metered = meterWasmModule(wasm, { memoryCapPages: capPages });
  } catch (error) {
    if (error instanceof WasmRewriteError) {
      throw new ForgeOneError('SANDBOX.MODULE_REJECTED', `plugin ${key} cannot run in the sandbox: ${error.message}`, {
        reason: error.reason,
        ...(error.feature !== undefined ? { feature: error.feature } : {}),
        offset: error.offset,
      });
    }
    if (error instanceof WasmFormatError) {
      throw new ForgeOneError('REGISTRY.WASM_INVALID', `plugin ${key} is not a valid WebAssembly module: ${error.message}`, { offset: error.offset });
    }
    throw error;
  }
  let module: unknown;
  try {
    module = await engine.compile(metered.bytes);
  } catch (error) {
    // The original compiled (validatePluginModule checks), so this is a metering defect, not the plugin's.
    throw new ForgeOneError('SANDBOX.MODULE_REJECTED', `plugin ${key} could not be prepared for the sandbox: the metered module did not compile (${error instanceof Error ? error.message : String(error)}); report this with the plugin's digest`, {
      reason: 'metering_failed',
    });
  }
  return { module, memoryMaxPages: metered.memory?.maximumPages ?? 0, plan: metered.reset };
}
