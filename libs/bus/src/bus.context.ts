import { HEADERS, RequestSourceSchema } from '@forgeone/contracts';
import { BaseRpcContext } from '@nestjs/microservices';
import type { MsgHdrs } from '@nats-io/transport-node';

// NATS answers "" for a missing header: only then is `has` asked, so a present header is one look-up.
function header(hdrs: MsgHdrs | undefined, name: string): string | undefined {
  if (hdrs === undefined) return undefined;
  const value = hdrs.get(name);
  return value !== '' || hdrs.has(name) ? value : undefined;
}

/** What a command handler learns about the request besides its body (second handler argument, or `@Ctx()`). */
export class BusContext extends BaseRpcContext<[subject: string, headers: MsgHdrs | undefined, pattern: string]> {
  /** NATS subject the command arrived on. */
  get subject(): string {
    return this.args[0];
  }
  /** Handler pattern, `<service>.<verb>`. */
  get pattern(): string {
    return this.args[2];
  }
  get headers(): MsgHdrs | undefined {
    return this.args[1];
  }
  header(name: string): string | undefined {
    return header(this.args[1], name);
  }
  /** The caller's credential (`Authorization` header) exactly as sent, if any. */
  get credential(): string | undefined {
    return this.header(HEADERS.credential);
  }
  /** The tenant the caller names (`Forgeone-Tenant` header), if any; authorise it before trusting it. */
  get tenant(): string | undefined {
    return this.header(HEADERS.tenant);
  }
  /**
   * Where the end user's request came from as the sender reports it (`Forgeone-Source` header,
   * e.g. `http 203.0.113.7` from the gateway); undefined when absent or not printable ASCII.
   * For counting failed authentications only: anyone on the bus can write it.
   */
  get source(): string | undefined {
    const value = this.header(HEADERS.source);
    return value !== undefined && RequestSourceSchema.safeParse(value).success ? value : undefined;
  }
}

/** What an event handler learns about the delivery (second handler argument, or `@Ctx()`). */
export class EventContext extends BaseRpcContext<[subject: string, headers: MsgHdrs | undefined, sequence: number, deliveryCount: number, stream: string]> {
  get subject(): string {
    return this.args[0];
  }
  get headers(): MsgHdrs | undefined {
    return this.args[1];
  }
  header(name: string): string | undefined {
    return header(this.args[1], name);
  }
  /** Stream sequence of the event: unique, increasing, the projection checkpoint. */
  get sequence(): number {
    return this.args[2];
  }
  /** 1 on first delivery, more on redeliveries. */
  get deliveryCount(): number {
    return this.args[3];
  }
  get stream(): string {
    return this.args[4];
  }
}
