import { setFlagsFromString } from 'node:v8';

/**
 * The V8 flag this module turns off, before any Cedar call is compiled. With it on (Node 20's default),
 * TurboFan inlines a call from optimized JavaScript into a wasm export; if that caller is deoptimized while
 * the wasm runs (Cedar calls back into JavaScript, and a new object shape there can invalidate the caller's
 * code), V8 11.3 rebuilds the caller's frame and cannot translate an `externref` result, which every
 * Cedar export returns: "Fatal error: unreachable code" in Deoptimizer::TranslatedValueForWasmReturnKind,
 * and the process dies with SIGTRAP. Without inlining, the call goes through V8's JS-to-wasm wrapper.
 */
export const NO_JS_WASM_CALL_INLINING = '--no-turbo-inline-js-wasm-calls';

setFlagsFromString(NO_JS_WASM_CALL_INLINING);
