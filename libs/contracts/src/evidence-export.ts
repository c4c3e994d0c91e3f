import { z } from 'zod';
import { DsseEnvelopeSchema } from './signing.js';
import { ReportBoundSchema, reportRange } from './reports.js';

/**
 * Evidence export (`forgeone audit export`): per control of a compliance framework, the population
 * of a query over the projections, a sample proven against a signed checkpoint and the exceptions,
 * with a manifest of every file's sha256 signed by the audit key (docs/evidence.md).
 */
export const EVIDENCE_FRAMEWORKS = ['soc2', 'iso27001', 'gdpr'] as const;
export type EvidenceFramework = (typeof EVIDENCE_FRAMEWORKS)[number];

export const EvidenceFrameworkSchema = z.enum(EVIDENCE_FRAMEWORKS, { error: () => `must be one of ${EVIDENCE_FRAMEWORKS.join(', ')}` });

/** DSSE payload type of a signed evidence manifest. */
export const EVIDENCE_MANIFEST_PAYLOAD_TYPE = 'application/vnd.forgeone.evidence-manifest+json';
/** The manifest's `format`. */
export const EVIDENCE_MANIFEST_FORMAT = 'forgeone.evidence.manifest.v1';

/** What an export is asked for: framework and period (bounds as reports take them; both required). */
export const EvidenceExportRequestSchema = z
  .object({
    framework: EvidenceFrameworkSchema,
    from: ReportBoundSchema.describe('first day (YYYY-MM-DD) or time (ISO 8601 with offset) included'),
    to: ReportBoundSchema.describe('last day (YYYY-MM-DD, included whole) or time included'),
  })
  .strict()
  .superRefine((q, ctx) => {
    try {
      reportRange(q.from, q.to);
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['from'], message: (error as Error).message.replace(/--(from|to)/g, '$1') });
    }
  });
export type EvidenceExportRequest = z.infer<typeof EvidenceExportRequestSchema>;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');

/** One file of an export as the manifest lists it: its path inside the export folder, size and sha256. */
export const EvidenceFileSchema = z
  .object({
    path: z.string().regex(/^[a-z0-9][a-z0-9._/-]{0,200}$/, 'must be a relative path of lowercase letters, digits, ".", "_", "-" and "/"'),
    bytes: z.number().int().nonnegative(),
    sha256: hex64,
  })
  .strict();
export type EvidenceFile = z.infer<typeof EvidenceFileSchema>;

/** The signed manifest (the DSSE payload, canonical JSON). `index.html` and every data file are listed; the manifest and its envelope are not. */
export const EvidenceManifestSchema = z
  .object({
    format: z.literal(EVIDENCE_MANIFEST_FORMAT),
    framework: EvidenceFrameworkSchema,
    tenant: z.string().min(1),
    /** The period, inclusive start and exclusive end, ISO 8601. */
    from: z.string(),
    before: z.string(),
    generatedAt: z.string(),
    exportedBy: z.string().min(1),
    /** The signed checkpoint every sample is proven against. */
    checkpoint: z.object({ treeSize: z.number().int().positive(), rootHash: hex64, origin: z.string(), keyId: hex64 }).strict(),
    files: z.array(EvidenceFileSchema).max(10_000),
  })
  .strict();
export type EvidenceManifest = z.infer<typeof EvidenceManifestSchema>;

/**
 * The audit log's record of an export, `forgeone.evt.evidence-export.<tenant>`, written by the
 * audit-projector alone (EVENT_OWNERSHIP) after it signed the manifest.
 */
export const EVIDENCE_EXPORT_AGGREGATE = 'evidence-export';

export const EVIDENCE_EXPORT_EVENT_TYPES = {
  exported: 'io.forgeone.audit.evidence_exported.v1',
} as const;

export const EvidenceExportedSchema = z
  .object({
    framework: EvidenceFrameworkSchema,
    from: z.string(),
    before: z.string(),
    /** Who asked (the principal id; the envelope's actor says the same). */
    exportedBy: z.string().min(1),
    /** `sha256:<hex>` of the manifest bytes (the DSSE payload). */
    manifestDigest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
    files: z.number().int().nonnegative(),
    checkpointTreeSize: z.number().int().positive(),
    /** Fingerprint of the key that signed the manifest (the audit key). */
    keyId: hex64,
  })
  .strict();
export type EvidenceExported = z.infer<typeof EvidenceExportedSchema>;

/** `forgeone.cmd.audit-projector.sign-evidence`: the gateway asks the holder of the audit key to sign a manifest and record the export. */
export const EVIDENCE_VERBS = { sign: 'sign-evidence' } as const;

export const SignEvidenceRequestSchema = z
  .object({
    /** The manifest's bytes as UTF-8 text (canonical JSON of an {@link EvidenceManifest}). */
    manifest: z.string().min(2).max(4_000_000),
  })
  .strict();
export type SignEvidenceRequest = z.infer<typeof SignEvidenceRequestSchema>;

export const SignEvidenceReplySchema = z.object({ envelope: DsseEnvelopeSchema, keyId: hex64, sequence: z.number().int().positive() }).strict();
export type SignEvidenceReply = z.infer<typeof SignEvidenceReplySchema>;

/**
 * The export's HTTP reply is NDJSON, one line each: `start` (the checkpoint), `file` chunks
 * appended to a file in order, `progress`, and `done` with the manifest and its envelope, or
 * `error` when the export failed after it began (nothing of it is valid then).
 */
export const EvidenceExportLineSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('start'), framework: EvidenceFrameworkSchema, tenant: z.string(), from: z.string(), before: z.string(), checkpoint: z.object({ treeSize: z.number(), rootHash: z.string(), origin: z.string(), keyId: z.string(), note: z.string() }) }),
  z.object({ kind: z.literal('file'), path: z.string(), data: z.string() }),
  z.object({ kind: z.literal('progress'), query: z.string(), rows: z.number() }),
  z.object({ kind: z.literal('done'), manifest: z.string(), envelope: DsseEnvelopeSchema, sequence: z.number() }),
  z.object({ kind: z.literal('error'), error: z.object({ code: z.string(), message: z.string() }) }),
]);
export type EvidenceExportLine = z.infer<typeof EvidenceExportLineSchema>;
