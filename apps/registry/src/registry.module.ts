import type { ServiceContext } from '@forgeone/service-host';
import { Module, type DynamicModule } from '@nestjs/common';
import { RegistryCommandsController } from './registry-commands.controller.js';

@Module({})
export class RegistryModule {
  static forRoot(context: ServiceContext): DynamicModule {
    return { module: RegistryModule, imports: [context.busModule], controllers: [RegistryCommandsController] };
  }
}
