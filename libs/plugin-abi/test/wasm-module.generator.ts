// A seeded generator of valid, terminating WebAssembly modules (as WAT) for differential tests of
// the metering rewriter. Written by hand rather than taken from a fuzzer (binaryen's random module
// builder, wasm-smith): those produce modules that may loop forever, trap or recurse without bound,
// where a differential test needs programs that end, on every input, with a result to compare.
// Here termination holds by construction: loops count a dedicated local down from at most 6, calls
// only go to higher-numbered functions (directly or through the table), and no call sits in a loop.

/** mulberry32: small, fast and good enough to pick shapes; the same seed gives the same module. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GeneratedModule {
  readonly seed: number;
  readonly wat: string;
  /** Initial memory in pages (1: high-water tracking, 3: buckets, 17 with a stack pointer: distance). */
  readonly pages: number;
  readonly functions: number;
}

const BINARY = ['i32.add', 'i32.sub', 'i32.mul', 'i32.xor', 'i32.and', 'i32.or', 'i32.shl', 'i32.shr_u', 'i32.rotl', 'i32.lt_u', 'i32.ge_s'];

/** A module exporting `run (i32, i32) -> i32` and its memory, with loops, calls, call_indirect, memory operations and globals. */
export function generateModule(seed: number): GeneratedModule {
  const rnd = prng(seed);
  const int = (n: number): number => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const functions = 1 + int(5);
  const layout = pick(['small', 'buckets', 'stack'] as const);
  const pages = layout === 'small' ? 1 : layout === 'buckets' ? 3 : 17;
  // Addresses stay below `base + mask + 64 + 8`, inside the initial memory; the stack layout writes around its pivot.
  const base = layout === 'stack' ? 1_048_576 - 8_192 : 0;
  const mask = layout === 'small' ? 0x7ff8 : 0x3ff8;
  const inTable = Array.from({ length: functions }, (_, i) => i > 0 && rnd() < 0.6);
  const slots = inTable.flatMap((yes, i) => (yes ? [i] : []));

  const addr = (depth: number, ctx: Ctx): string => `(i32.add (i32.const ${base}) (i32.and ${expr(depth, ctx)} (i32.const ${mask})))`;
  interface Ctx {
    readonly fn: number;
    /** Loop nesting: calls are not generated inside loops, so the call tree stays small. */
    readonly loops: number;
    /** Labels between the statement and the function body (blocks, loops, ifs). */
    readonly labels: number;
  }
  const callees = (ctx: Ctx): number[] => Array.from({ length: functions - ctx.fn - 1 }, (_, k) => ctx.fn + 1 + k);
  const call = (depth: number, ctx: Ctx): string | undefined => {
    if (ctx.loops > 0) return undefined;
    const targets = callees(ctx);
    const indirect = slots.filter((s) => s > ctx.fn);
    if (indirect.length > 0 && rnd() < 0.4) {
      return `(call_indirect (type $t) ${expr(depth, ctx)} ${expr(depth, ctx)} (i32.const ${slots.indexOf(pick(indirect))}))`;
    }
    return targets.length > 0 ? `(call $f${pick(targets)} ${expr(depth, ctx)} ${expr(depth, ctx)})` : undefined;
  };

  function expr(depth: number, ctx: Ctx): string {
    const d = depth - 1;
    const choice = depth <= 0 ? int(4) : int(14);
    switch (choice) {
      case 0:
        return `(i32.const ${int(2000) - 1000})`;
      case 1:
        return `(local.get ${pick(['$a', '$b', '$x'])})`;
      case 2:
        return '(global.get $g0)';
      case 3:
        return '(i32.wrap_i64 (local.get $y))';
      case 4:
      case 5:
      case 6:
        return `(${pick(BINARY)} ${expr(d, ctx)} ${expr(d, ctx)})`;
      case 7:
        return `(${pick(['i32.load', 'i32.load8_u', 'i32.load16_s'])} offset=${int(64)} ${addr(d, ctx)})`;
      case 8:
        return `(select ${expr(d, ctx)} ${expr(d, ctx)} ${expr(d, ctx)})`;
      case 9:
        return `(if (result i32) ${expr(d, ctx)} (then ${expr(d, ctx)}) (else ${expr(d, ctx)}))`;
      case 10:
        return `(i32.add (memory.size) ${expr(d, ctx)})`;
      case 11:
        return `(i32.wrap_i64 (global.get $g1))`;
      case 12:
        return call(d, ctx) ?? `(i32.eqz ${expr(d, ctx)})`;
      default:
        return `(i32.eqz ${expr(d, ctx)})`;
    }
  }

  function statement(depth: number, ctx: Ctx): string {
    const e = (): string => expr(2, ctx);
    switch (int(depth <= 0 ? 9 : 14)) {
      case 0:
        return `(local.set $x ${e()})`;
      case 1:
        return `(global.set $g0 ${e()})`;
      case 2:
        return `(global.set $g1 (i64.add (global.get $g1) (i64.extend_i32_u ${e()})))`;
      case 3:
        return `(local.set $y (i64.add (local.get $y) (i64.extend_i32_s ${e()})))`;
      case 4: {
        const [op, value] = pick([
          ['i32.store', e()],
          ['i32.store8', e()],
          ['i32.store16', e()],
          ['i64.store', `(i64.extend_i32_s ${e()})`],
          ['f64.store', `(f64.convert_i32_s ${e()})`],
          ['f32.store', `(f32.convert_i32_u ${e()})`],
        ] as const);
        return `(${op} offset=${int(64)} ${addr(1, ctx)} ${value})`;
      }
      case 5:
        return `(memory.fill ${addr(1, ctx)} ${e()} (i32.and ${e()} (i32.const 63)))`;
      case 6:
        return `(memory.copy ${addr(1, ctx)} ${addr(1, ctx)} (i32.and ${e()} (i32.const 63)))`;
      case 7:
        // The declared maximum (pages + 16) is below the cap: growth stops at the same point metered or not.
        return `(local.set $x (i32.add (local.get $x) (memory.grow (i32.const ${int(2)}))))`;
      case 8: {
        const c = call(1, ctx);
        return c === undefined ? `(local.set $x ${e()})` : `(local.set $x (i32.add (local.get $x) ${c}))`;
      }
      case 9:
      case 10: {
        if (ctx.loops >= 2) return `(local.set $x ${e()})`;
        const counter = `$c${ctx.loops}`;
        const inner: Ctx = { ...ctx, loops: ctx.loops + 1, labels: ctx.labels + 2 };
        return `(local.set ${counter} (i32.const ${int(7)}))
    (block (loop
      (br_if 1 (i32.eqz (local.get ${counter})))
      ${block(depth - 1, inner)}
      (local.set ${counter} (i32.sub (local.get ${counter}) (i32.const 1)))
      (br 0)))`;
      }
      case 11:
        return `(if ${e()} (then ${block(depth - 1, nested(ctx))}) (else ${block(depth - 1, nested(ctx))}))`;
      case 12:
        // Leaves early: return, or a branch to the function label from inside an if.
        return rnd() < 0.5 ? `(if (i32.eqz ${e()}) (then (return ${e()})))` : `(if (i32.eqz ${e()}) (then (br ${ctx.labels + 1} ${e()})))`;
      default:
        return `(block (br_if 0 ${e()}) ${block(depth - 1, nested(ctx))})`;
    }
  }

  const nested = (ctx: Ctx): Ctx => ({ ...ctx, labels: ctx.labels + 1 });

  function block(depth: number, ctx: Ctx): string {
    return Array.from({ length: 1 + int(3) }, () => statement(depth, ctx)).join('\n    ');
  }

  const bodies = Array.from({ length: functions }, (_, fn) => {
    const ctx: Ctx = { fn, loops: 0, labels: 0 };
    return `(func $f${fn} (type $t) (param $a i32) (param $b i32) (result i32) (local $x i32) (local $y i64) (local $c0 i32) (local $c1 i32)
    ${block(3, ctx)}
    (i32.add (i32.add (local.get $x) (i32.wrap_i64 (local.get $y))) (i32.add (global.get $g0) (i32.wrap_i64 (global.get $g1)))))`;
  });
  const wat = `(module
  (type $t (func (param i32 i32) (result i32)))
  ${layout === 'stack' ? '(global $sp (mut i32) (i32.const 1048576))' : ''}
  (global $g0 (mut i32) (i32.const ${int(100)}))
  (global $g1 (mut i64) (i64.const ${int(100)}))
  (memory (export "memory") ${pages} ${pages + 16})
  ${slots.length > 0 ? `(table ${slots.length} funcref) (elem (i32.const 0) ${slots.map((s) => `$f${s}`).join(' ')})` : ''}
  ${bodies.join('\n  ')}
  (export "run" (func $f0)))`;
  return { seed, wat, pages, functions };
}
