import type { ServiceContext } from '@forgeone/service-host';
import { Module, type DynamicModule } from '@nestjs/common';

/**
 * The policy service: connected to the bus and answering readiness. It registers no command
 * handlers yet, so its commands get "no responders" (SERVICE.UNAVAILABLE) rather than a fake answer.
 */
@Module({})
export class PolicyModule {
  static forRoot(context: ServiceContext): DynamicModule {
    return { module: PolicyModule, imports: [context.busModule] };
  }
}
