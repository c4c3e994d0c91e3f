import 'reflect-metadata';
import { runBusService } from '@forgeone/service-host';
import { SignerModule } from './signer.module.js';

await runBusService({ service: 'signer', module: (context) => SignerModule.forRoot(context) });
