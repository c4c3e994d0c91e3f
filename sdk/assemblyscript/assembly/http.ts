// http_request (capability `http`): the request and the answer are JSON documents.
//   request:  {"method":"GET","url":"https://host/path","headers":{"name":"value"},"body":"text"}
//   response: {"status":200,"headers":{"name":"value"},"body":"text"}
// A response body that is not UTF-8 text arrives as "bodyBase64" instead of "body".
import { forgeone_http_request } from "./imports";
import { _takeString, jsonString } from "./host";

/** An outgoing request; the host refuses hosts outside the manifest's allow-list. */
export class HttpRequest {
  headers: Map<string, string> = new Map<string, string>();
  body: string | null = null;

  constructor(public method: string, public url: string) {}

  header(name: string, value: string): HttpRequest {
    this.headers.set(name, value);
    return this;
  }

  toJson(): string {
    let out = '{"method":' + jsonString(this.method) + ',"url":' + jsonString(this.url) + ',"headers":{';
    const names = this.headers.keys();
    for (let i = 0; i < names.length; i++) {
      if (i > 0) out += ",";
      out += jsonString(names[i]) + ":" + jsonString(this.headers.get(names[i]));
    }
    out += "}";
    const body = this.body;
    if (body !== null) out += ',"body":' + jsonString(body);
    return out + "}";
  }
}

/** The host's answer. */
export class HttpResponse {
  status: i32 = 0;
  headers: Map<string, string> = new Map<string, string>();
  /** The body when it is UTF-8 text ("" otherwise). */
  body: string = "";
  /** The body, base64-encoded, when it is not UTF-8 text; null otherwise. */
  bodyBase64: string | null = null;

  /** Length of the body in bytes, whichever way it arrived. */
  bodyLength(): i32 {
    const b64 = this.bodyBase64;
    if (b64 === null) return String.UTF8.byteLength(this.body);
    let padding = 0;
    if (b64.endsWith("==")) padding = 2;
    else if (b64.endsWith("=")) padding = 1;
    return (b64.length / 4) * 3 - padding;
  }
}

/**
 * Sends a request through the host and waits for the answer. Returns null when the host refused it
 * (hostStatus() -2: host not allowed), failed (-3) or the answer did not fit (-4, -5).
 */
export function httpRequest(request: HttpRequest): HttpResponse | null {
  const bytes = String.UTF8.encode(request.toJson());
  const answer = _takeString(forgeone_http_request(changetype<usize>(bytes), bytes.byteLength));
  if (answer === null) return null;
  return parseHttpResponse(answer);
}

/** Reads the response JSON; unknown fields are skipped, a malformed document aborts with its position. */
export function parseHttpResponse(json: string): HttpResponse {
  const reader = new JsonReader(json);
  const response = new HttpResponse();
  reader.expect(0x7b); // {
  if (!reader.consume(0x7d)) {
    do {
      const key = reader.string();
      reader.expect(0x3a); // :
      if (key == "status") response.status = <i32>reader.number();
      else if (key == "body") response.body = reader.string();
      else if (key == "bodyBase64") response.bodyBase64 = reader.string();
      else if (key == "headers") {
        reader.expect(0x7b);
        if (!reader.consume(0x7d)) {
          do {
            const name = reader.string();
            reader.expect(0x3a);
            response.headers.set(name, reader.string());
          } while (reader.consume(0x2c));
          reader.expect(0x7d);
        }
      } else reader.skipValue();
    } while (reader.consume(0x2c));
    reader.expect(0x7d);
  }
  return response;
}

function hexDigit(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** Just enough JSON to read host answers: strings (with escapes), numbers, and skipping any value. */
class JsonReader {
  pos: i32 = 0;
  constructor(private text: string) {}

  private space(): void {
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
      this.pos++;
    }
  }

  private fail(what: string): void {
    throw new Error("http_request answer is not the expected JSON: " + what + " at offset " + this.pos.toString());
  }

  consume(c: i32): bool {
    this.space();
    if (this.pos < this.text.length && this.text.charCodeAt(this.pos) == c) {
      this.pos++;
      return true;
    }
    return false;
  }

  expect(c: i32): void {
    if (!this.consume(c)) this.fail("expected '" + String.fromCharCode(c) + "'");
  }

  string(): string {
    this.expect(0x22);
    let out = "";
    let from = this.pos;
    while (true) {
      if (this.pos >= this.text.length) this.fail("unterminated string");
      const c = this.text.charCodeAt(this.pos);
      if (c == 0x22) break;
      if (c != 0x5c) {
        this.pos++;
        continue;
      }
      out += this.text.substring(from, this.pos);
      const e = this.text.charCodeAt(this.pos + 1);
      this.pos += 2;
      if (e == 0x6e) out += "\n";
      else if (e == 0x72) out += "\r";
      else if (e == 0x74) out += "\t";
      else if (e == 0x62) out += "\b";
      else if (e == 0x66) out += "\f";
      else if (e == 0x75) {
        // \uXXXX; surrogate pairs arrive as two escapes and join up as UTF-16 code units.
        let code = 0;
        for (let i = 0; i < 4; i++) {
          const d = hexDigit(this.pos < this.text.length ? this.text.charCodeAt(this.pos) : -1);
          if (d < 0) this.fail("bad \\u escape");
          code = (code << 4) | d;
          this.pos++;
        }
        out += String.fromCharCode(code);
      } else out += String.fromCharCode(e); // \" \\ \/
      from = this.pos;
    }
    out += this.text.substring(from, this.pos);
    this.pos++;
    return out;
  }

  number(): f64 {
    this.space();
    const start = this.pos;
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (!((c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x2b || c == 0x2e || c == 0x65 || c == 0x45)) break;
      this.pos++;
    }
    if (this.pos == start) this.fail("expected a number");
    return F64.parseFloat(this.text.substring(start, this.pos));
  }

  skipValue(): void {
    this.space();
    if (this.pos >= this.text.length) this.fail("expected a value");
    const c = this.text.charCodeAt(this.pos);
    if (c == 0x22) {
      this.string();
    } else if (c == 0x7b || c == 0x5b) {
      const close = c == 0x7b ? 0x7d : 0x5d;
      this.pos++;
      if (this.consume(close)) return;
      do {
        if (c == 0x7b) {
          this.string();
          this.expect(0x3a);
        }
        this.skipValue();
      } while (this.consume(0x2c));
      this.expect(close);
    } else if (c == 0x74 || c == 0x6e) {
      this.pos += 4; // true, null
    } else if (c == 0x66) {
      this.pos += 5; // false
    } else {
      this.number();
    }
  }
}
