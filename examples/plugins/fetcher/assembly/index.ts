// fetcher: GETs the URL given as input through the host (capability "http"; the host refuses hosts
// outside the manifest's allow-list) and answers {"status":<code>,"bodyBytes":<length of the body in bytes>}.
import { fail, handle, HostStatus, hostStatus, HttpRequest, httpRequest } from "../../../../sdk/assemblyscript/assembly";

export { forgeone_abi_version, forgeone_alloc } from "../../../../sdk/assemblyscript/assembly";

export function fetch(ptr: i32, len: i32): i64 {
  return handle(ptr, len, (url: string): string => {
    if (!url.startsWith("http://") && !url.startsWith("https://")) {
      return fail("fetch needs an http:// or https:// URL as input, got \"" + url + "\"");
    }
    const response = httpRequest(new HttpRequest("GET", url).header("accept", "*/*"));
    if (response === null) {
      const status = hostStatus();
      if (status == HostStatus.DENIED) return fail("the host refused " + url + ": its host is not in the plugin's http allow-list");
      return fail("GET " + url + " failed (host status " + status.toString() + ")");
    }
    return '{"status":' + response.status.toString() + ',"bodyBytes":' + response.bodyLength().toString() + "}";
  });
}
