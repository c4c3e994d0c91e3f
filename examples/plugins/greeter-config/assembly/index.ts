// greeter-config: reads its configuration (capability "config"), set per environment with
// `forgeone plugin config set`. The secret api_token is compared, never echoed.
import { configGet, fail, handle } from "../../../../sdk/assemblyscript/assembly";

export { forgeone_abi_version, forgeone_alloc } from "../../../../sdk/assemblyscript/assembly";

export function greet(ptr: i32, len: i32): i64 {
  return handle(ptr, len, (name: string): string => {
    const greeting = configGet("greeting");
    if (greeting === null) return fail("greeting is not configured in this environment: forgeone plugin config set forgeone/greeter-config --env <env> greeting=Hello");
    return greeting + ", " + name;
  });
}

export function token_matches(ptr: i32, len: i32): i64 {
  return handle(ptr, len, (candidate: string): string => {
    const token = configGet("api_token");
    if (token === null) return "unset";
    return token == candidate ? "match" : "no match";
  });
}
