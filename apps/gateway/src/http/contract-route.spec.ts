import 'reflect-metadata';
import { API_ROUTES } from '@forgeone/http-contract';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { describe, expect, it } from 'vitest';
import { AuditLogController } from './audit-log.controller.js';
import { EvidenceController } from './evidence.controller.js';
import { DocsController } from './docs.controller.js';
import { EnvironmentsController } from './environments.controller.js';
import { ReviewsController } from './reviews.controller.js';
import { HealthController } from './health.controller.js';
import { InstallationsController } from './installations.controller.js';
import { PromotionsController } from './promotions.controller.js';
import { InvocationsController } from './invocations.controller.js';
import { KeysController } from './keys.controller.js';
import { PluginsController } from './plugins.controller.js';
import { PoliciesController } from './policies.controller.js';
import { TokensController } from './tokens.controller.js';
import { ReportsController } from './reports.controller.js';
import { SettingsController } from './settings.controller.js';
import { TestRunsController } from './test-runs.controller.js';

const CONTROLLERS = [PluginsController, InstallationsController, PromotionsController, EnvironmentsController, InvocationsController, AuditLogController, EvidenceController, ReportsController, SettingsController, PoliciesController, TokensController, KeysController, HealthController, DocsController, SiemController, TestRunsController, ReviewsController];
import { SiemController } from './siem.controller.js';


// Routes the controllers really serve, from Nest's routing metadata, as OpenAPI templates.
function servedRoutes(): string[] {
  return CONTROLLERS.flatMap((controller) => {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    return Object.getOwnPropertyNames(controller.prototype)
      .filter((key) => key !== 'constructor')
      .map((key) => (controller.prototype as unknown as Record<string, object>)[key])
      .filter((handler) => Reflect.hasMetadata(PATH_METADATA, handler))
      .map((handler) => {
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number].toLowerCase();
        const path = [base, String(Reflect.getMetadata(PATH_METADATA, handler))].filter((p) => p && p !== '/').join('/');
        return `${method} /${path.replace(/:([A-Za-z]+)/g, '{$1}')}`;
      });
  });
}

describe('gateway routes', () => {
  it('contract - the controllers serve exactly the routes of the HTTP contract', () => {
    expect(servedRoutes().sort()).toEqual(API_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });
});
