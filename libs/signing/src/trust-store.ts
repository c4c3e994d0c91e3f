// The trust store's fold and the key decider are domain code (@forgeone/key-trust-domain); verification reads them from here.
export {
  decideKeyCommand,
  evolveTrustStore,
  initialTrustStore,
  trustStoreOf,
  type KeyCommand,
  type KeyEventLike,
  type TrustedKey,
  type TrustStore,
} from '@forgeone/key-trust-domain';

/** Whether `name` (`<publisher>/<plugin>`) is matched by a scope glob; `*` matches within one segment. */
export function scopeMatches(scope: string, name: string): boolean {
  const pattern = scope
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&'))
    .join('[a-z0-9-]*');
  return new RegExp(`^${pattern}$`).test(name);
}
