import type { EntityJson, EntityUidJson } from '@cedar-policy/cedar-wasm/nodejs';
import { ForgeOneError, type Resource } from '@forgeone/contracts';
import { CEDAR_NAMESPACE } from './cedar-schema.js';

/** Who asks, as policy sees it. */
export interface AuthzPrincipal {
  readonly id: string;
  readonly type: 'user' | 'service' | 'plugin';
  readonly tenant: string;
  /** Role names; each becomes a `Role` group the principal is in. */
  readonly roles: readonly string[];
  /** The bootstrap administrator: may act on every tenant. */
  readonly platformAdmin?: boolean;
  /** One of ForgeOne's own services: serves every tenant. */
  readonly platformService?: boolean;
}

/** What is acted on; `attributes` may be omitted. */
export type AuthzResource = Omit<Resource, 'attributes'> & { readonly attributes?: Resource['attributes'] };

/** Classification of a plugin whose caller did not say. */
export const DEFAULT_CLASSIFICATION = 'internal';

const uid = (type: string, id: string): { type: string; id: string } => ({ type: `${CEDAR_NAMESPACE}::${type}`, id });
const ref = (type: string, id: string) => ({ __entity: uid(type, id) });

/** Cedar uid of the principal. */
export function principalUid(principal: AuthzPrincipal): EntityUidJson {
  if (principal.type === 'plugin') {
    throw new ForgeOneError('COMMAND.INVALID', 'plugins cannot be principals yet: ask with the credential of the user or service that runs the plugin');
  }
  return uid(principal.type === 'user' ? 'User' : 'ServiceAccount', principal.id);
}

/** Cedar uid of the resource. */
export function resourceUid(resource: AuthzResource): EntityUidJson {
  return uid(resource.type, resource.id);
}

/** Cedar uid of an action. */
export function actionUid(action: string): EntityUidJson {
  return uid('Action', action);
}

/**
 * The entities a decision needs: the principal with its roles and tenant, the resource with its
 * attributes, and the tenants both point to.
 */
export function entitiesFor(principal: AuthzPrincipal, resource: AuthzResource): EntityJson[] {
  if (resource.type === 'Tenant' && resource.id !== resource.tenant) {
    throw new ForgeOneError(
      'COMMAND.INVALID',
      `a Tenant resource is owned by itself: its tenant must be its id (got id "${resource.id}", tenant "${resource.tenant}")`,
    );
  }
  const roles = [...new Set(principal.roles)];
  const principalEntity: EntityJson = {
    uid: principalUid(principal),
    attrs:
      principal.type === 'user'
        ? { tenant: ref('Tenant', principal.tenant), platformAdmin: principal.platformAdmin === true }
        : { tenant: ref('Tenant', principal.tenant), platformService: principal.platformService === true },
    parents: roles.map((role) => uid('Role', role)),
  };
  const attributes = resource.attributes ?? {};
  let resourceEntity: EntityJson | undefined;
  if (resource.type === 'Plugin') {
    resourceEntity = {
      uid: resourceUid(resource),
      attrs: { tenant: ref('Tenant', resource.tenant), tags: [...(attributes.tags ?? [])], classification: attributes.classification ?? DEFAULT_CLASSIFICATION },
      parents: [],
    };
  } else if (resource.type === 'Environment') {
    resourceEntity = { uid: resourceUid(resource), attrs: { tenant: ref('Tenant', resource.tenant), name: resource.id }, parents: [] };
  }
  const tenants = new Set([principal.tenant, resource.tenant]);
  return [
    principalEntity,
    ...roles.map((role) => ({ uid: uid('Role', role), attrs: {}, parents: [] })),
    ...[...tenants].map((tenant) => ({ uid: uid('Tenant', tenant), attrs: {}, parents: [] })),
    ...(resourceEntity ? [resourceEntity] : []),
  ];
}

/**
 * The request context: the environment the action targets, from the request, else from the
 * resource's attributes, else the Environment resource itself.
 */
export function contextFor(resource: AuthzResource, context: { environment?: string } = {}): { environment?: string } {
  const environment = context.environment ?? resource.attributes?.environment ?? (resource.type === 'Environment' ? resource.id : undefined);
  return environment === undefined ? {} : { environment };
}
