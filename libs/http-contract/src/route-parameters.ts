import { EnvironmentSchema } from '@forgeone/contracts';
import { z } from 'zod';
import { PathSegmentSchema } from './http.schemas.js';

// Path parameters and headers that routes of several areas share, each described once.
export const environment = EnvironmentSchema.describe('environment name, e.g. staging');
export const publisher = PathSegmentSchema.describe('first segment of the plugin name (<publisher>/<plugin>)');
export const plugin = PathSegmentSchema.describe('second segment of the plugin name');
export const PluginPath = z.object({ publisher, plugin });

export const TENANT_HEADER = {
  name: 'Forgeone-Tenant',
  description: "optional; queries always answer for the token's tenant, and a header naming another tenant is refused with AUTHZ.DENIED",
};
