export * from './plugin/plugin.commands.js';
export * from './plugin/plugin.state.js';
export * from './plugin/plugin.decider.js';
