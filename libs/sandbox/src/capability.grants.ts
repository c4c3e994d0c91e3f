// What a plugin's capabilities grant it: the host functions it may call, and the narrower grant of one call.
import type { Capabilities } from '@forgeone/contracts';
import { HOST_FUNCTIONS_V1, type HostFunctionName, type PluginCapability } from '@forgeone/plugin-abi';

export function isGranted(capabilities: Capabilities, capability: PluginCapability): boolean {
  const value = (capabilities as Record<string, unknown>)[capability];
  return value === true || (typeof value === 'object' && value !== null);
}

/** The intersection of two grants; http allow-lists intersect too. */
export function narrow(base: Capabilities, limit: Capabilities): Capabilities {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(base)) {
    const other = (limit as Record<string, unknown>)[name];
    if (name === 'http' && typeof value === 'object' && value !== null && typeof other === 'object' && other !== null) {
      const allowed = new Set((other as { allow: string[] }).allow);
      const allow = (value as { allow: string[] }).allow.filter((h) => allowed.has(h));
      if (allow.length > 0) out[name] = { allow };
    } else if (value === true && other === true) {
      out[name] = true;
    }
  }
  return out as Capabilities;
}

/** The host functions a plugin with these capabilities may import (`error`, `log` and the like need none). */
export function grantedFunctions(capabilities: Capabilities): string[] {
  return (Object.keys(HOST_FUNCTIONS_V1) as HostFunctionName[]).filter((name) => {
    const capability = HOST_FUNCTIONS_V1[name].capability;
    return capability === undefined || isGranted(capabilities, capability);
  });
}
