// The CLI runs as one bundled module: every `forgeone` process otherwise resolves and loads some 330 files
// (zod, commander, the contracts) before it does anything, which is most of a short command's time.
// Libraries the CLI imports only for some verbs (the platform's runtime, persistence, the sandbox, the bus,
// the tracing SDK, the compilers) stay outside and load from node_modules when a verb needs them; the runtime
// must anyway, as it finds the services' files next to itself.
export default {
  input: 'dist/main.js',
  platform: 'node',
  external: [
    /^node:/,
    /^@forgeone\/(runtime|persistence|sandbox|bus|telemetry)$/,
    /^(assemblyscript|binaryen|wabt|@cedar-policy\/cedar-wasm)(\/|$)/,
  ],
  resolve: { conditionNames: ['import', 'node', 'default'] },
  output: { dir: 'dist/bundle', format: 'esm', entryFileNames: 'main.mjs', chunkFileNames: '[name]-[hash].mjs', sourcemap: true },
};
