// Raw host functions of ABI v1, module "forgeone" (docs/abi.md). Plugins use the typed wrappers in
// host.ts; an import that is never called is left out of the module, so it needs no capability.

// @ts-ignore: decorator
@external("forgeone", "error")
export declare function forgeone_error(ptr: usize, len: i32): void;

// @ts-ignore: decorator
@external("forgeone", "log")
export declare function forgeone_log(level: i32, ptr: usize, len: i32): void;

// @ts-ignore: decorator
@external("forgeone", "metric")
export declare function forgeone_metric(namePtr: usize, nameLen: i32, value: f64): void;

// @ts-ignore: decorator
@external("forgeone", "now_ms")
export declare function forgeone_now_ms(): i64;

// @ts-ignore: decorator
@external("forgeone", "config_get")
export declare function forgeone_config_get(keyPtr: usize, keyLen: i32): i64;

// @ts-ignore: decorator
@external("forgeone", "kv_get")
export declare function forgeone_kv_get(keyPtr: usize, keyLen: i32): i64;

// @ts-ignore: decorator
@external("forgeone", "kv_set")
export declare function forgeone_kv_set(keyPtr: usize, keyLen: i32, valuePtr: usize, valueLen: i32): i32;

// @ts-ignore: decorator
@external("forgeone", "kv_delete")
export declare function forgeone_kv_delete(keyPtr: usize, keyLen: i32): i32;

// @ts-ignore: decorator
@external("forgeone", "http_request")
export declare function forgeone_http_request(reqPtr: usize, reqLen: i32): i64;

// @ts-ignore: decorator
@external("forgeone", "auth_check")
export declare function forgeone_auth_check(reqPtr: usize, reqLen: i32): i32;
