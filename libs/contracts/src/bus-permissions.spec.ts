import { describe, expect, it } from 'vitest';
import { busInboxPrefix, busPermissions, busUserName, SERVICE_PRINCIPALS, type BusPermissions } from './bus-permissions.js';
import { aggregateOwner, EVENT_OWNERSHIP } from './event-ownership.js';
import { names as namesFor, SERVICES } from './subjects.js';

// nats-server subject matching: '*' one token, '>' one or more trailing tokens.
function matches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}
const mayPublish = (permissions: BusPermissions, subject: string) =>
  permissions.publish.some((pattern) => matches(pattern, subject)) && !permissions.publishDeny.some((pattern) => matches(pattern, subject));
const maySubscribe = (permissions: BusPermissions, subject: string) => permissions.subscribe.some((pattern) => matches(pattern, subject));

describe('bus permissions', () => {
  for (const namespace of ['', 'acme-prod']) {
    const names = namesFor(namespace);
    const service = (name: (typeof SERVICES)[number]) => busPermissions(names, { kind: 'service', service: name });

    it(`bus permissions - only the owner may publish an aggregate's events (namespace "${namespace}")`, () => {
      for (const aggregate of [...Object.keys(EVENT_OWNERSHIP), 'unowned']) {
        const subject = names.eventSubject(aggregate, 'acme:hello');
        const publishers = SERVICES.filter((name) => mayPublish(service(name), subject));
        expect(publishers, aggregate).toEqual(aggregateOwner(aggregate) ? [aggregateOwner(aggregate)] : []);
        expect(mayPublish(busPermissions(names, { kind: 'client', name: 'ci' }), subject)).toBe(false);
      }
    });

    it(`bus permissions - only the answering service may subscribe to a command subject (namespace "${namespace}")`, () => {
      const served = {
        [names.command('registry', 'publish')]: 'registry',
        [names.command('signer', 'trust_key')]: 'signer',
        [names.command('policy', 'issue_token')]: 'policy',
        [names.authzCheck]: 'policy',
        [names.invoke('production', 'acme/hello')]: 'sandbox-runner',
        [names.health('gateway')]: 'gateway',
      };
      for (const [subject, owner] of Object.entries(served)) {
        expect(SERVICES.filter((name) => maySubscribe(service(name), subject)), subject).toEqual([owner]);
      }
    });

    it(`bus permissions - no application principal may administer a stream or bucket (namespace "${namespace}")`, () => {
      const administration = [
        `$JS.API.STREAM.UPDATE.${names.stream}`,
        `$JS.API.STREAM.DELETE.${names.stream}`,
        `$JS.API.STREAM.PURGE.${names.stream}`,
        `$JS.API.STREAM.CREATE.${names.stream}`,
        `$JS.API.STREAM.MSG.DELETE.${names.stream}`,
        `$JS.API.STREAM.UPDATE.KV_${names.pluginKvBucket}`,
        `$JS.API.STREAM.DELETE.OBJ_${names.artifactBucket}`,
      ];
      for (const principal of [...SERVICE_PRINCIPALS, { kind: 'client', name: 'ci' } as const]) {
        const permissions = busPermissions(names, principal);
        for (const subject of administration) expect(mayPublish(permissions, subject), `${busUserName(principal)} ${subject}`).toBe(false);
      }
      expect(mayPublish(busPermissions(names, { kind: 'operator' }), `$JS.API.STREAM.UPDATE.${names.stream}`)).toBe(true);
      // Only the registry may purge, and only objects of the artifact store (a refused publish's artifact).
      const purgeArtifacts = `$JS.API.STREAM.PURGE.OBJ_${names.artifactBucket}`;
      expect(SERVICES.filter((name) => mayPublish(service(name), purgeArtifacts))).toEqual(['registry']);
    });

    it(`bus permissions - an automation client sends commands and invocations only, and reads only its own inbox (namespace "${namespace}")`, () => {
      const client = busPermissions(names, { kind: 'client', name: 'release-bot' });
      expect(mayPublish(client, names.command('registry', 'install'))).toBe(true);
      expect(mayPublish(client, names.invoke('staging', 'acme/hello'))).toBe(true);
      for (const subject of [names.authzCheck, names.eventSubject('plugin', 'x'), `$JS.API.STREAM.INFO.${names.stream}`, `$KV.${names.pluginKvBucket}.k`, `$O.${names.artifactBucket}.C.x`, names.health('registry')]) {
        expect(mayPublish(client, subject), subject).toBe(false);
      }
      expect(client.subscribe).toEqual([`${client.inboxPrefix}.>`]);
      expect(client.allowResponses).toBe(false);
    });

    it(`bus permissions - inbox prefixes are distinct and each principal reads only its own (namespace "${namespace}")`, () => {
      const principals = [...SERVICE_PRINCIPALS, { kind: 'client', name: 'a' } as const, { kind: 'operator' } as const];
      const prefixes = principals.map((principal) => busInboxPrefix(names, principal));
      expect(new Set(prefixes).size).toBe(prefixes.length);
      for (const principal of SERVICE_PRINCIPALS) {
        const permissions = busPermissions(names, principal);
        for (const other of prefixes) expect(maySubscribe(permissions, `${other}.abc`)).toBe(other === permissions.inboxPrefix);
        expect(maySubscribe(permissions, '_INBOX.abc')).toBe(false);
      }
    });
  }

  it('bus permissions - a client name must be a simple token', () => {
    expect(() => busUserName({ kind: 'client', name: 'Bad Name' })).toThrow(/client name "Bad Name" is invalid/);
    expect(() => busUserName({ kind: 'client', name: 'x.>' })).toThrow(/invalid/);
    expect(busUserName({ kind: 'client', name: 'release-bot' })).toBe('client-release-bot');
  });
});
