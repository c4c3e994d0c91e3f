// Package entry for asc, which resolves `import … from "@forgeone/plugin-sdk-assemblyscript"` to
// node_modules/@forgeone/plugin-sdk-assemblyscript/index.ts.
export * from "./assembly/index";
