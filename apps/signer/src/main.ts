import 'reflect-metadata';
import { runBusService } from '@forgeone/service-host';
import { signingKeyProviderFromEnv, type SigningKeyProvider } from '@forgeone/signing';
import { createLogger } from '@forgeone/telemetry';
import { signerOptionsFromEnv, type SignerOptions } from './signer.config.js';
import { SignerModule } from './signer.module.js';

// Without its service credential every command would be refused, and a configured signing key
// that cannot be read is a mistake to fix: refuse to start in both cases.
const logger = createLogger('signer');
let options: SignerOptions | undefined;
let signingKey: SigningKeyProvider | undefined;
try {
  options = signerOptionsFromEnv(process.env);
  signingKey = await signingKeyProviderFromEnv(process.env);
  if (signingKey) logger.info({ keyId: await signingKey.keyId() }, 'platform signing key loaded');
  else logger.info('no platform signing key configured (FORGEONE_SIGNER_KEY_FILE, FORGEONE_SIGNER_KEY): the sign command is refused');
} catch (error) {
  logger.fatal(`cannot start signer: ${(error as Error).message}`);
  options = undefined;
  process.exitCode = 1;
}

if (options) {
  const signer = options;
  await runBusService({ service: 'signer', module: (context) => SignerModule.forRoot(context, signer, signingKey), writes: ['events'] });
}
