import { ForgeOneError, parseOrThrow, PluginNameSchema } from '@forgeone/contracts';
import { z } from 'zod';

// Validation of what arrives over HTTP, with errors naming the field to fix (COMMAND.INVALID for
// command bodies, QUERY.INVALID for query strings and paths of reads).

export function parseBody<S extends z.ZodType>(schema: S, body: unknown, what: string): z.infer<S> {
  if (body === undefined) {
    throw new ForgeOneError('COMMAND.INVALID', `${what} has no body; send a JSON object with Content-Type: application/json`);
  }
  return parseOrThrow(schema, body, 'COMMAND.INVALID', what);
}

const PluginPathSchema = z.object({ name: PluginNameSchema });

// Plugin names travel as two path segments: /v1/plugins/{publisher}/{plugin}.
export function pluginNameFromPath(publisher: string, plugin: string): string {
  return parseOrThrow(PluginPathSchema, { name: `${publisher}/${plugin}` }, 'QUERY.INVALID', 'the plugin in the path').name;
}
