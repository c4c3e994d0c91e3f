import { authzClientProvider } from '@forgeone/authz-client';
import { JetStreamEventStore } from '@forgeone/event-store';
import type { ServiceContext } from '@forgeone/service-host';
import type { SigningKeyProvider } from '@forgeone/signing';
import { Module, type DynamicModule } from '@nestjs/common';
import { KeyCommandsController, SIGNING_KEY_PROVIDER } from './key-commands.controller.js';
import { KeyTrustStore } from './key-trust.store.js';
import type { SignerOptions } from './signer.config.js';

/** The signer service: the tenants' key trust stores and signing with the platform key (`forgeone.cmd.signer.*`). */
@Module({})
export class SignerModule {
  static forRoot(context: ServiceContext, options: SignerOptions, signingKey: SigningKeyProvider | undefined): DynamicModule {
    return {
      module: SignerModule,
      imports: [context.busModule],
      controllers: [KeyCommandsController],
      providers: [
        authzClientProvider({ serviceCredential: options.serviceCredential, ...options.authz }),
        { provide: KeyTrustStore, useFactory: (events: JetStreamEventStore) => new KeyTrustStore(events), inject: [JetStreamEventStore] },
        { provide: SIGNING_KEY_PROVIDER, useValue: signingKey ?? null },
      ],
    };
  }
}
