import { ForgeOneError } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import { pluginWat, wat2wasm } from '../test/wat.js';
import { inspectWasmModule } from './wasm-module.inspector.js';
import { exportedMemoryLimits, validatePluginModule, type PluginModuleProblem } from './plugin-module.validator.js';

const V1 = { handlers: ['run'], abi: 1 } as const;

function refusal(bytes: Uint8Array, options: { handlers: readonly string[]; abi: number } = V1): ForgeOneError {
  try {
    validatePluginModule(bytes, options);
  } catch (error) {
    expect(error).toBeInstanceOf(ForgeOneError);
    return error as ForgeOneError;
  }
  throw new Error('expected the module to be refused, but it was accepted');
}

function problems(error: ForgeOneError): PluginModuleProblem[] {
  return (error.details as { problems: PluginModuleProblem[] }).problems;
}

describe('validatePluginModule - accepted modules', () => {
  it('accepts a minimal ABI v1 module and reports what it needs', async () => {
    const report = validatePluginModule(await wat2wasm(pluginWat()), V1);
    expect(report).toEqual({
      abi: 1,
      sizeBytes: expect.any(Number),
      handlers: ['run'],
      hostImports: [],
      requiredCapabilities: [],
      memory: { initialPages: 1, maximumPages: 4, hasMaximum: true },
      hasStartFunction: false,
      otherExports: [],
    });
  });

  it('derives the capabilities from the imported host functions', async () => {
    const imports = `
      (import "forgeone" "error" (func (param i32 i32)))
      (import "forgeone" "log" (func (param i32 i32 i32)))
      (import "forgeone" "metric" (func (param i32 i32 f64)))
      (import "forgeone" "now_ms" (func (result i64)))
      (import "forgeone" "config_get" (func (param i32 i32) (result i64)))
      (import "forgeone" "kv_get" (func (param i32 i32) (result i64)))
      (import "forgeone" "kv_set" (func (param i32 i32 i32 i32) (result i32)))
      (import "forgeone" "kv_delete" (func (param i32 i32) (result i32)))
      (import "forgeone" "http_request" (func (param i32 i32) (result i64)))
      (import "forgeone" "auth_check" (func (param i32 i32) (result i32)))`;
    const report = validatePluginModule(await wat2wasm(pluginWat({ imports })), V1);
    expect(report.hostImports).toEqual([
      'auth_check',
      'config_get',
      'error',
      'http_request',
      'kv_delete',
      'kv_get',
      'kv_set',
      'log',
      'metric',
      'now_ms',
    ]);
    expect(report.requiredCapabilities).toEqual(['log', 'metrics', 'clock', 'config', 'storage', 'http', 'auth']);
  });

  it('needs no capability for error alone, and only storage for kv_get', async () => {
    const errorOnly = await wat2wasm(pluginWat({ imports: '(import "forgeone" "error" (func (param i32 i32)))' }));
    expect(validatePluginModule(errorOnly, V1).requiredCapabilities).toEqual([]);
    const kv = await wat2wasm(pluginWat({ imports: '(import "forgeone" "kv_get" (func (param i32 i32) (result i64)))' }));
    expect(validatePluginModule(kv, V1)).toMatchObject({ hostImports: ['kv_get'], requiredCapabilities: ['storage'] });
  });

  it('reports a memory without maximum, a start function and extra exports', async () => {
    const bytes = await wat2wasm(
      pluginWat({ memory: '(memory (export "memory") 2)', extra: '(func $init) (start $init) (global (export "__heap_base") i32 (i32.const 0))' }),
    );
    const report = validatePluginModule(bytes, V1);
    expect(report.memory).toEqual({ initialPages: 2, maximumPages: undefined, hasMaximum: false });
    expect(report.hasStartFunction).toBe(true);
    expect(report.otherExports).toEqual(['__heap_base']);
    expect(exportedMemoryLimits(inspectWasmModule(bytes))).toMatchObject({ initialPages: 2, hasMaximum: false });
  });

  it('accepts an ABI version function written as i32.const 1; return', async () => {
    const abiVersion = '(func (export "forgeone_abi_version") (result i32) i32.const 1 return)';
    expect(validatePluginModule(await wat2wasm(pluginWat({ abiVersion })), V1).abi).toBe(1);
  });

  it('accepts several handlers', async () => {
    const handlers = `
      (func (export "a") (param i32 i32) (result i64) i64.const 0)
      (func (export "b") (param i32 i32) (result i64) i64.const 0)`;
    expect(validatePluginModule(await wat2wasm(pluginWat({ handlers })), { handlers: ['a', 'b'], abi: 1 }).handlers).toEqual(['a', 'b']);
  });
});

describe('validatePluginModule - not WebAssembly', () => {
  it.each([
    ['empty', new Uint8Array()],
    ['a PNG header', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
    ['random bytes', new Uint8Array(64).map((_, i) => (i * 97 + 13) & 0xff)],
  ])('refuses %s as WASM_INVALID', (_, bytes) => {
    const error = refusal(bytes);
    expect(error.code).toBe('REGISTRY.WASM_INVALID');
    expect(error.message).toMatch(/^plugin\.wasm is not a valid WebAssembly module: /);
    expect(error.details).toMatchObject({ file: 'plugin.wasm', offset: 0 });
  });

  it('refuses a truncated module, naming the section and the file given', async () => {
    const bytes = await wat2wasm(pluginWat());
    const error = (() => {
      try {
        validatePluginModule(bytes.subarray(0, bytes.length - 3), { ...V1, fileName: 'dist/run.wasm' });
      } catch (e) {
        return e as ForgeOneError;
      }
      throw new Error('accepted a truncated module');
    })();
    expect(error.code).toBe('REGISTRY.WASM_INVALID');
    expect(error.message).toMatch(/^dist\/run\.wasm is not a valid WebAssembly module: code section declares \d+ byte\(s\) but only \d+ remain: the file is truncated/);
  });

  it('reports the engine message when the structure is fine but the code does not compile', async () => {
    const bytes = await wat2wasm(pluginWat({ handlers: '(func (export "run") (param i32 i32) (result i64) i32.const 0)' }));
    const error = refusal(bytes);
    expect(error.code).toBe('REGISTRY.WASM_INVALID');
    expect(error.message).toMatch(/^plugin\.wasm is not a valid ForgeOne ABI v1 module: WebAssembly compilation failed: .*Compiling function/);
    expect(problems(error)).toEqual([expect.objectContaining({ kind: 'compile', name: 'plugin.wasm' })]);
  });
});

describe('validatePluginModule - exports', () => {
  it.each([
    ['memory', { memory: '(memory 1)' }],
    ['forgeone_abi_version', { abiVersion: '' }],
    ['forgeone_alloc', { alloc: '' }],
  ])('refuses a module without export %s', async (name, parts) => {
    const error = refusal(await wat2wasm(pluginWat(parts)));
    expect(error.code).toBe('REGISTRY.WASM_INVALID');
    expect(error.message).toMatch(new RegExp(`^plugin\\.wasm is not a valid ForgeOne ABI v1 module: missing export ${name} `));
    expect(error.details).toMatchObject({ names: [name] });
    expect(problems(error)).toEqual([expect.objectContaining({ kind: 'missing_export', name })]);
  });

  it('refuses a handler named in the manifest that is not exported', async () => {
    const error = refusal(await wat2wasm(pluginWat()), { handlers: ['run', 'redact'], abi: 1 });
    expect(error.message).toBe(
      'plugin.wasm is not a valid ForgeOne ABI v1 module: missing export redact (handler named in the manifest; required: (i32, i32) -> i64)',
    );
    expect(error.details).toMatchObject({ names: ['redact'] });
  });

  it('refuses wrong signatures on alloc, abi version and handlers', async () => {
    const bytes = await wat2wasm(
      pluginWat({
        abiVersion: '(func (export "forgeone_abi_version") (result i64) i64.const 1)',
        alloc: '(func (export "forgeone_alloc") (param i64) (result i32) i32.const 0)',
        handlers: '(func (export "run") (param i32 i32) (result i32) i32.const 0)',
      }),
    );
    const error = refusal(bytes);
    expect(error.code).toBe('REGISTRY.WASM_INVALID');
    expect(error.message).toContain('export forgeone_abi_version has signature () -> i64 but ABI v1 requires () -> i32');
    expect(error.message).toContain('export forgeone_alloc has signature (i64) -> i32 but ABI v1 requires (i32) -> i32');
    expect(error.message).toContain('export run has signature (i32, i32) -> i32 but ABI v1 requires (i32, i32) -> i64');
    expect(problems(error).map((p) => p.kind)).toEqual(['export_signature', 'export_signature', 'export_signature']);
  });

  it('refuses exports of the wrong kind', async () => {
    const bytes = await wat2wasm(
      pluginWat({
        memory: '(memory 1) (func (export "memory"))',
        handlers: '(global (export "run") i32 (i32.const 0))',
      }),
    );
    const error = refusal(bytes);
    expect(error.message).toContain('export memory is a function, not a memory');
    expect(error.message).toContain('export run is a global, not a function (i32, i32) -> i64');
  });

  it('refuses a handler that takes a reserved name, or is listed twice', async () => {
    const error = refusal(await wat2wasm(pluginWat()), { handlers: ['run', 'run', 'forgeone_alloc'], abi: 1 });
    expect(problems(error)).toEqual([
      expect.objectContaining({ kind: 'handler_name', name: 'run', message: 'handler run is listed twice in the manifest' }),
      expect.objectContaining({ kind: 'handler_name', name: 'forgeone_alloc' }),
    ]);
  });
});

describe('validatePluginModule - ABI version', () => {
  it('refuses a module that declares ABI version 2 as ABI_MISMATCH', async () => {
    const bytes = await wat2wasm(pluginWat({ abiVersion: '(func (export "forgeone_abi_version") (result i32) i32.const 2)' }));
    const error = refusal(bytes);
    expect(error.code).toBe('REGISTRY.ABI_MISMATCH');
    expect(error.message).toMatch(/declares ABI version 2, but this ForgeOne supports only ABI 1/);
    expect(error.details).toMatchObject({ names: ['forgeone_abi_version'] });
  });

  it('reads negative and multi-byte constants exactly', async () => {
    for (const value of [-1, 64, 1_000_000, 2147483647, -2147483648]) {
      const bytes = await wat2wasm(pluginWat({ abiVersion: `(func (export "forgeone_abi_version") (result i32) i32.const ${value})` }));
      expect(refusal(bytes).message).toContain(`declares ABI version ${value},`);
    }
  });

  it.each([
    ['computed', 'i32.const 0 i32.const 1 i32.add'],
    ['read from a global', 'global.get $v'],
    ['followed by dead code', 'i32.const 1 return i32.const 2'],
    ['wrapped in a block', '(block (result i32) i32.const 1)'],
  ])('refuses a version that is %s: it must be a constant', async (_, body) => {
    const bytes = await wat2wasm(
      pluginWat({ abiVersion: `(global $v i32 (i32.const 1)) (func (export "forgeone_abi_version") (result i32) ${body})` }),
    );
    const error = refusal(bytes);
    expect(error.code).toBe('REGISTRY.WASM_INVALID');
    expect(error.message).toMatch(/forgeone_abi_version must return a constant \(its body must be just i32\.const 1\)/);
    expect(problems(error)).toEqual([expect.objectContaining({ kind: 'abi_not_constant', name: 'forgeone_abi_version' })]);
  });

  it('refuses a re-exported import as the version function', async () => {
    const bytes = await wat2wasm(
      pluginWat({
        imports: '(import "forgeone" "now_ms" (func $v (result i32)))',
        abiVersion: '(export "forgeone_abi_version" (func $v))',
      }),
    );
    const error = refusal(bytes);
    expect(problems(error).map((p) => p.kind)).toEqual(['abi_not_constant', 'import_signature']);
    expect(error.message).toContain('forgeone_abi_version must return a constant (its body must be just i32.const 1); it re-exports an imported function');
  });

  it('refuses a manifest asking for another ABI before looking at the module', async () => {
    const error = refusal(await wat2wasm(pluginWat()), { handlers: ['run'], abi: 2 });
    expect(error.code).toBe('REGISTRY.ABI_MISMATCH');
    expect(error.message).toMatch(/^the manifest asks for plugin ABI 2, but this ForgeOne supports only ABI 1/);
  });
});

describe('validatePluginModule - imports', () => {
  it('refuses an unknown forgeone import', async () => {
    const error = refusal(await wat2wasm(pluginWat({ imports: '(import "forgeone" "sys_exec" (func (param i32 i32) (result i32)))' })));
    expect(error.code).toBe('REGISTRY.WASM_INVALID');
    expect(error.message).toMatch(/import forgeone\.sys_exec is not a ForgeOne host function \(ABI v1 provides error, log, metric, now_ms/);
    expect(error.details).toMatchObject({ names: ['forgeone.sys_exec'] });
  });

  it('refuses imports from any other module', async () => {
    const error = refusal(await wat2wasm(pluginWat({ imports: '(import "env" "abort" (func (param i32 i32 i32 i32)))' })));
    expect(error.message).toContain('import env.abort is not from module "forgeone"; a plugin may import only ForgeOne host functions');
    expect(problems(error)).toEqual([expect.objectContaining({ kind: 'import_module', name: 'env.abort' })]);
  });

  it('refuses a host function imported with the wrong signature', async () => {
    const error = refusal(await wat2wasm(pluginWat({ imports: '(import "forgeone" "log" (func (param i32 i32)))' })));
    expect(error.message).toContain('import forgeone.log has signature (i32, i32) -> () but ABI v1 defines (i32, i32, i32) -> ()');
  });

  it('refuses memory, table and global imports, even from forgeone', async () => {
    const imports = `
      (import "forgeone" "memory" (memory 1))
      (import "forgeone" "table" (table 1 funcref))
      (import "env" "g" (global i32))`;
    const error = refusal(await wat2wasm(pluginWat({ imports, memory: '(export "memory" (memory 0))' })));
    expect(error.code).toBe('REGISTRY.WASM_INVALID');
    expect(error.message).toContain('import forgeone.memory is a memory import; the host provides only functions');
    expect(problems(error).map((p) => `${p.kind} ${p.name}`)).toEqual([
      'import_kind forgeone.memory',
      'import_kind forgeone.table',
      'import_kind env.g',
    ]);
  });

  it('lists every problem in one message', async () => {
    const bytes = await wat2wasm(
      pluginWat({ alloc: '', imports: '(import "forgeone" "sys_exec" (func))' }),
    );
    const error = refusal(bytes);
    expect(error.message).toBe(
      'plugin.wasm is not a valid ForgeOne ABI v1 module: missing export forgeone_alloc (required: (i32) -> i32); ' +
        'import forgeone.sys_exec is not a ForgeOne host function (ABI v1 provides error, log, metric, now_ms, config_get, kv_get, kv_set, kv_delete, http_request, auth_check)',
    );
    expect(error.details).toMatchObject({ file: 'plugin.wasm', names: ['forgeone_alloc', 'forgeone.sys_exec'] });
  });
});
