/** Opcodes and value type codes the metering rewriter reads or emits. */
export const OP = {
  unreachable: 0x00,
  block: 0x02,
  if: 0x04,
  end: 0x0b,
  return: 0x0f,
  call: 0x10,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  globalGet: 0x23,
  globalSet: 0x24,
  tableSet: 0x26,
  i32Const: 0x41,
  i64Const: 0x42,
  i32Eq: 0x46,
  i64LtS: 0x53,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32And: 0x71,
  i32Or: 0x72,
  i32Xor: 0x73,
  i32Shl: 0x74,
  i32ShrS: 0x75,
  i32ShrU: 0x76,
  i64Sub: 0x7d,
  refFunc: 0xd2,
  prefixFC: 0xfc,
} as const;

/** `if` with no result, as the injected checks use it. */
export const IF_EMPTY = [OP.if, 0x40] as const;

export const VALUE_TYPE: Readonly<Record<string, number>> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, funcref: 0x70, externref: 0x6f };
