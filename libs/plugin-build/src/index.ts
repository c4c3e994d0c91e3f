export { pluginSourceKind, type PluginSourceKind } from './plugin-source.detector.js';
export { PluginBuildError } from './plugin-build.error.js';
export { buildWat } from './wat.builder.js';
export { ascArguments, buildAssemblyScript, type BuildAssemblyScriptOptions } from './assemblyscript.builder.js';
export { buildRust, RUST_TOOLCHAIN, type BuildRustOptions } from './rust.builder.js';
export { buildPluginFolder, type PluginBuildResult } from './plugin.builder.js';
export { forgeoneRoot, sdkPaths } from './sdk.locator.js';
export { scaffoldPlugin, SCAFFOLD_LANGUAGES, SDK_COPY_DIR, type ScaffoldLanguage, type ScaffoldPluginInput, type ScaffoldPluginResult } from './plugin.scaffolder.js';
