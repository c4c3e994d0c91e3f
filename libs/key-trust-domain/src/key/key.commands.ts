/** Commands on one key (the `key` aggregate). Ids, times and the actor arrive with the command. */
export type TrustKey = {
  readonly type: 'TrustKey';
  readonly data: { keyId: string; publicKeyPem: string; publisher: string; scope: string; validFrom: string; validUntil: string | null; trustedBy: string };
};

export type RevokeKey = { readonly type: 'RevokeKey'; readonly data: { keyId: string; revokedAt: string; reason: string; revokedBy: string } };

export type KeyCommand = TrustKey | RevokeKey;
