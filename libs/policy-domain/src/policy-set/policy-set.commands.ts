/** A validated policy set: Cedar text by policy id and the digest of the set (the engine prepared both). */
export interface PreparedPolicies {
  readonly policies: Readonly<Record<string, string>>;
  readonly sha256: string;
}

/** Replace the platform's policy set; `expectedVersion`, when given, is the version the caller saw. */
export type ApplyPolicySet = {
  readonly type: 'ApplyPolicySet';
  readonly data: PreparedPolicies & { readonly appliedBy: string; readonly expectedVersion?: number };
};

/** On a platform's first start: the default set becomes version 1, unless a set exists already. */
export type ApplyDefaultPolicySet = {
  readonly type: 'ApplyDefaultPolicySet';
  readonly data: PreparedPolicies & { readonly appliedBy: string };
};

export type PolicySetCommand = ApplyPolicySet | ApplyDefaultPolicySet;
