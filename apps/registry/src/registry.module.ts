import { authzClientProvider } from '@forgeone/authz-client';
import type { ServiceContext } from '@forgeone/service-host';
import { Module, type DynamicModule } from '@nestjs/common';
import type { RegistryOptions } from './registry.config.js';
import { CONFIG_SECRETS, PROMOTION_SETTINGS, RegistryCommandsController, REVIEW_SETTINGS, SIGNATURE_POLICY, STORAGE_QUOTA, TEST_RUN_SETTINGS } from './registry-commands.controller.js';
import { ConfigSecretBox } from '@forgeone/signing';
import { SIEM_TENANT_ALLOW_PRIVATE, SiemSinksController } from './siem-sinks.controller.js';

@Module({})
export class RegistryModule {
  static forRoot(context: ServiceContext, options: RegistryOptions): DynamicModule {
    return {
      module: RegistryModule,
      imports: [context.busModule],
      controllers: [RegistryCommandsController, SiemSinksController],
      providers: [
        authzClientProvider({ serviceCredential: options.serviceCredential, ...options.authz }),
        { provide: SIGNATURE_POLICY, useValue: options.signaturePolicy },
        { provide: STORAGE_QUOTA, useValue: options.storageQuota },
        { provide: REVIEW_SETTINGS, useValue: options.reviewSettings },
        { provide: CONFIG_SECRETS, useValue: ConfigSecretBox.from(options.configSecretKey) ?? null },
        { provide: PROMOTION_SETTINGS, useValue: options.promotion },
        { provide: TEST_RUN_SETTINGS, useValue: options.testRuns },
        { provide: SIEM_TENANT_ALLOW_PRIVATE, useValue: options.siemTenantAllowPrivate },
      ],
    };
  }
}
