import type { InstallationResult, InstallPluginRequest, RemovePluginRequest, UpgradePluginRequest } from '@forgeone/contracts';
import type { PluginCommand } from '../plugin/plugin.commands.js';
import { decideAndAppend } from './decide-and-append.js';
import type { CommandMetadata, PluginEventStream } from './registry.ports.js';

export function installPlugin(stream: PluginEventStream, request: InstallPluginRequest, metadata: CommandMetadata) {
  return change(stream, request.name, { type: 'InstallPlugin', data: request }, metadata);
}

export function upgradePlugin(stream: PluginEventStream, request: UpgradePluginRequest, metadata: CommandMetadata) {
  return change(stream, request.name, { type: 'UpgradePlugin', data: request }, metadata);
}

export function removePlugin(stream: PluginEventStream, request: RemovePluginRequest, metadata: CommandMetadata) {
  return change(stream, request.name, { type: 'RemovePlugin', data: request }, metadata);
}

async function change(stream: PluginEventStream, name: string, command: PluginCommand, metadata: CommandMetadata): Promise<InstallationResult> {
  const { events, appended } = await decideAndAppend(stream, name, command, metadata);
  const event = events[0];
  const data = event.data as { name: string; version: string; environment: string; digest?: string };
  return {
    name: data.name,
    version: data.version,
    environment: data.environment,
    ...(data.digest ? { digest: data.digest } : {}),
    eventId: appended[0].eventId,
    sequence: appended[0].sequence,
  };
}
