// Calls every host function through the SDK wrappers, for test/examples/sdk-host-calls.spec.ts.
import {
  authCheck, configGet, fail, handle, handleBytes, hostStatus, HttpRequest, httpRequest, kvDelete, kvGet,
  kvSet, log, LogLevel, metric, nowMs,
} from "../../../../sdk/assemblyscript/assembly";

export { forgeone_abi_version, forgeone_alloc } from "../../../../sdk/assemblyscript/assembly";

export function config(ptr: i32, len: i32): i64 {
  return handle(ptr, len, (key: string): string => {
    const value = configGet(key);
    return value === null ? "<unset " + hostStatus().toString() + ">" : value;
  });
}

export function clock(ptr: i32, len: i32): i64 {
  return handle(ptr, len, (_: string): string => nowMs().toString());
}

// Stores the input bytes under "k", reads them back, deletes twice: "<len>,<delete>,<delete again>,<get after>".
export function storage(ptr: i32, len: i32): i64 {
  return handle(ptr, len, (input: string): string => {
    const value = Uint8Array.wrap(String.UTF8.encode(input));
    if (kvSet("k", value) != 0) return fail("kv_set failed: " + hostStatus().toString());
    const back = kvGet("k");
    if (back === null) return fail("kv_get failed: " + hostStatus().toString());
    const first = kvDelete("k");
    const second = kvDelete("k");
    const gone = kvGet("k") === null ? hostStatus() : 0;
    log(LogLevel.DEBUG, "storage done");
    metric("tour.bytes", <f64>back.length);
    return back.length.toString() + "," + first.toString() + "," + second.toString() + "," + gone.toString();
  });
}

export function auth(ptr: i32, len: i32): i64 {
  return handle(ptr, len, (action: string): string =>
    authCheck(action).toString() + "," + authCheck(action, "Environment", "staging").toString());
}

// POSTs the input as the body with a header that needs escaping; answers "<status>|<header x-echo>|<body>".
export function post(ptr: i32, len: i32): i64 {
  return handle(ptr, len, (url: string): string => {
    const request = new HttpRequest("POST", url).header("x-note", "quote \" backslash \\ tab \t é");
    request.body = "line1\nline2 \u2603 \"q\"";
    const response = httpRequest(request);
    if (response === null) return fail("http_request failed: " + hostStatus().toString());
    const echo = response.headers.has("x-echo") ? response.headers.get("x-echo") : "";
    return response.status.toString() + "|" + echo + "|" + response.body;
  });
}

export function bytes(ptr: i32, len: i32): i64 {
  return handleBytes(ptr, len, (input: Uint8Array): Uint8Array => {
    const out = new Uint8Array(input.length);
    for (let i = 0; i < input.length; i++) out[i] = input[input.length - 1 - i];
    return out;
  });
}
