export * from './plugin/plugin.commands.js';
export * from './plugin/plugin.state.js';
export * from './plugin/plugin.decider.js';
export * from './use-cases/registry.ports.js';
export * from './use-cases/decide-and-append.js';
export * from './use-cases/publish-plugin-version.use-case.js';
export * from './use-cases/change-installation.use-case.js';
