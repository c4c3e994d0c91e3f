import { z } from 'zod';
import { EnvironmentSchema, PluginNameSchema, SemverSchema } from './manifest.js';

/**
 * The plugins/ directory watcher (`forgeone watch`) is a client of the API, not a service, so what it
 * refuses is recorded by the registry through a command: one `watch` aggregate per environment of a
 * tenant (`<tenant>:<environment>`), written only by the registry (EVENT_OWNERSHIP). It guards no
 * invariant, so it is appended without an expected sequence.
 */
export const WATCH_AGGREGATE = 'watch';

export const WATCH_EVENT_TYPES = {
  dropRejected: 'io.forgeone.watch.drop_rejected.v1',
} as const;

/** Verbs of `forgeone.cmd.registry.<verb>` for the watcher. */
export const WATCH_VERBS = { reportDropRejected: 'watch.drop-rejected' } as const;

/**
 * Which check refused a drop: the folder or a file is a symbolic link, its name is not a plain name
 * inside the watched directory, a file is not a regular file (fifo, device, socket, directory), a
 * file is larger than its limit, a required file is missing, the manifest or module or signature
 * file is not valid, or the platform refused the publish, install or upgrade.
 */
export const DROP_REJECTION_CHECKS = ['symlink', 'name', 'special-file', 'too-large', 'missing-file', 'manifest-invalid', 'wasm-invalid', 'signature-invalid', 'refused'] as const;
export type DropRejectionCheck = (typeof DROP_REJECTION_CHECKS)[number];

/**
 * Largest plugin.wasm the watcher reads: what one publish carries on the platform as shipped (NATS
 * max_payload 8 MB, the module travelling in base64 with the manifest and headers beside it).
 */
export const DROP_MODULE_MAX_BYTES = 6 * 1024 * 1024;
/** Largest forgeone.plugin.json the watcher reads; real manifests are a few KiB. */
export const DROP_MANIFEST_MAX_BYTES = 256 * 1024;

/** The folder as it was found in the watched directory; any bytes (it may be the very reason of the refusal), bounded. */
export const DropFolderNameSchema = z.string().min(1, 'must not be empty').max(255, 'must be at most 255 characters');

export const DropRejectedSchema = z
  .object({
    environment: EnvironmentSchema,
    folder: DropFolderNameSchema,
    check: z.enum(DROP_REJECTION_CHECKS),
    /** What was wrong and what to do, as the watcher wrote it into `.forgeone/rejected/<folder>.txt`. */
    reason: z.string().min(1, 'must say what was wrong').max(4000, 'must be at most 4000 characters'),
    /** The plugin and version the manifest names, when it could be read. */
    plugin: PluginNameSchema.optional(),
    version: SemverSchema.optional(),
  })
  .strict();
export type DropRejected = z.infer<typeof DropRejectedSchema>;
export type DropRejectedEvent = { readonly type: typeof WATCH_EVENT_TYPES.dropRejected; readonly data: DropRejected };

/** Body of `forgeone.cmd.registry.watch.drop-rejected` (Cedar `report-drop-rejected` on the Environment). */
export const ReportDropRejectedRequestSchema = DropRejectedSchema;
export type ReportDropRejectedRequest = DropRejected;

export const DropRejectedReplySchema = z
  .object({
    environment: EnvironmentSchema,
    folder: DropFolderNameSchema,
    eventId: z.string(),
    sequence: z.number().int(),
  })
  .strict();
export type DropRejectedReply = z.infer<typeof DropRejectedReplySchema>;
