import { ForgeOneError } from '@forgeone/contracts';

/** A plugin's source did not build (compiler messages in the message), or its toolchain is missing. */
export class PluginBuildError extends ForgeOneError {
  override readonly name: string = 'PluginBuildError';
  constructor(message: string) {
    super('PLUGIN.BUILD_FAILED', message);
  }
}
