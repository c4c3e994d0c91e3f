import { WasmBinaryReader } from './wasm-binary.reader.js';
import { WasmBinaryWriter } from './wasm-binary.writer.js';
import { InstructionKind, WasmInstructionIterator, WasmRewriteError } from './wasm-instruction.decoder.js';
import type { MeteringInput, MeteringStats } from './wasm-metering.contract.js';
import { BasicBlockCharges, longestPathCost } from './wasm-metering.fuel.js';
import { writeGrowCheck } from './wasm-metering.sections.js';
import { BalanceCell, writeEntryBody, type ThreadingPlan } from './wasm-metering.threading.js';
import { bodyFeatures, MemoryWrite, memoryWriteOf, stateChangeOf, writeTracker } from './wasm-metering.write-tracking.js';
import type { WasmSection } from './wasm-module.types.js';
import { OP, VALUE_TYPE } from './wasm-opcodes.js';

/**
 * Insertions into and replacements in one function body, applied in one copy. Their code is
 * appended to one shared writer as they are made (an edit's code runs to where the next one's
 * starts), so a body with thousands of edits allocates nothing per edit.
 */
class BodyEdits {
  readonly code = new WasmBinaryWriter(1 << 16);
  private pos: number[] = [];
  private rank: number[] = [];
  private skip: number[] = [];
  private codeStart: number[] = [];

  reset(): void {
    this.code.reset();
    this.pos.length = this.rank.length = this.skip.length = this.codeStart.length = 0;
  }

  get size(): number {
    return this.pos.length;
  }

  /** Opens an edit at `pos` and returns the writer its code goes to. Rank orders edits at one position. */
  open(pos: number, rank: number, skip = 0): WasmBinaryWriter {
    this.pos.push(pos);
    this.rank.push(rank);
    this.skip.push(skip);
    this.codeStart.push(this.code.size);
    return this.code;
  }

  /**
   * Copies `bytes[from, to)` to `w` with the edits applied: sorted by position, block charges
   * (rank 0) first, then other insertions (rank 1) in the order they were made, then replacements
   * (rank 2, which drop `skip` bytes of the original).
   */
  applyTo(w: WasmBinaryWriter, bytes: Uint8Array, from: number, to: number): void {
    const order = this.order();
    const { pos, skip, codeStart } = this;
    const n = pos.length;
    const code = this.code.view();
    let copied = from;
    for (const i of order) {
      w.copy(bytes, copied, pos[i]).copy(code, codeStart[i], i + 1 < n ? codeStart[i + 1] : code.length);
      copied = pos[i] + skip[i];
    }
    w.copy(bytes, copied, to);
  }

  /**
   * Block charges are made in position order as each block ends, the other edits in position order
   * as the walk meets them: merging the two lists is the sort, in linear time.
   */
  private order(): number[] {
    const { pos, rank } = this;
    const charges: number[] = [];
    const others: number[] = [];
    for (let i = 0; i < pos.length; i++) (rank[i] === 0 ? charges : others).push(i);
    const inOrder = (list: number[]): boolean => list.every((e, k) => k === 0 || pos[list[k - 1]] < pos[e] || (pos[list[k - 1]] === pos[e] && rank[list[k - 1]] <= rank[e]));
    if (!inOrder(charges) || !inOrder(others)) {
      return Array.from({ length: pos.length }, (_, i) => i).sort((a, b) => pos[a] - pos[b] || rank[a] - rank[b] || a - b);
    }
    const order: number[] = [];
    let c = 0;
    let o = 0;
    while (c < charges.length || o < others.length) {
      if (o === others.length || (c < charges.length && pos[charges[c]] <= pos[others[o]])) order.push(charges[c++]);
      else order.push(others[o++]);
    }
    return order;
  }
}

/** The code section with every body metered and threaded, then the bodies of entries' threaded copies. */
export function codeSectionContent(section: WasmSection, input: MeteringInput, plan: ThreadingPlan, stats: MeteringStats): Uint8Array {
  const { bytes, info, globals } = input;
  const r = new WasmBinaryReader(bytes, section.offset, section.offset + section.size, 'code section');
  const n = r.count('function body');
  const w = new WasmBinaryWriter(section.size * 2 + n * 64);
  w.varUint(n + plan.entries.length);
  const edits = new BodyEdits();
  const body = new WasmBinaryWriter(1 << 16);
  const moved = new Map<number, Uint8Array>();
  for (const entry of info.code) {
    const size = r.varUint(`size of function body ${entry.functionIndex}`);
    const start = r.offset;
    r.skip(size, `function body ${entry.functionIndex}`);
    meterFunctionBody(body.reset(), edits, input, start, start + size, entry.functionIndex, plan, stats);
    if (plan.threaded[entry.functionIndex] === entry.functionIndex) {
      w.varUint(body.size).bytes(body.view());
    } else {
      moved.set(entry.functionIndex, body.toBytes());
      const params = info.functions[entry.functionIndex].signature.params.length;
      writeEntryBody(body.reset(), plan.threaded[entry.functionIndex], params, globals);
      w.varUint(body.size).bytes(body.view());
    }
  }
  for (const index of plan.entries) {
    const moving = moved.get(index)!;
    w.varUint(moving.length).bytes(moving);
  }
  return w.view();
}

/**
 * Meters one body (see {@link BasicBlockCharges}), tracks its writes (see `writeTracker`), flags
 * refused memory growth, and threads the balance (see {@link ThreadingPlan}): the balance becomes
 * the new last parameter, so declared locals move up by one, and it is pushed as the last result on
 * every way out.
 */
function meterFunctionBody(w: WasmBinaryWriter, edits: BodyEdits, input: MeteringInput, start: number, end: number, index: number, plan: ThreadingPlan, stats: MeteringStats): void {
  const { bytes, globals: g, checkEveryBlock } = input;
  const signature = input.info.functions[index].signature;
  const r = new WasmBinaryReader(bytes, start, end, `body of function ${index}`);
  const groups = r.count('local group');
  const groupsStart = r.offset;
  let declaredLocals = 0;
  for (let i = 0; i < groups; i++) {
    declaredLocals += r.varUint('local count');
    const at = r.offset;
    if (r.valueType('local type') === 'v128') {
      throw new WasmRewriteError('unsupported_feature', `function ${index} has a v128 local, which needs the simd proposal; rebuild without SIMD`, at, 'simd');
    }
  }
  const localsEnd = r.offset;
  const params = signature.params.length;
  // A loop-free function is charged once, at entry, with the cost of its longest path: one check
  // instead of a charge per block, which is most of the cost of metering small functions called
  // often (recursion). The overcharge is bounded by the function's size and deterministic.
  const features = bodyFeatures(bytes, localsEnd, end, index, g.tracking.kind === 'distance');
  const wholeFunction = !features.loop && !checkEveryBlock ? longestPathCost(bytes, localsEnd, end, index) : undefined;
  const cell = new BalanceCell(params, g.fuel);
  // Scratch locals go after the declared ones (which moved up by one for the balance parameter).
  const track = features.writes ? writeTracker(g, params + 1 + declaredLocals) : undefined;

  edits.reset();
  const blocks = new BasicBlockCharges(localsEnd, g, cell, checkEveryBlock, wholeFunction, (pos) => edits.open(pos, 0));
  const code = new WasmInstructionIterator(r);
  const ins = code.current;
  let depth = 1;
  while (depth > 0) {
    if (code.atEnd) r.fail(`body of function ${index} ends inside a block: a function body must end with the end opcode`);
    const kind = code.next();
    const at = ins.at;
    blocks.count();
    stats.instructions++;
    switch (kind) {
      case InstructionKind.block:
        depth++;
        break;
      case InstructionKind.loop:
        if (track !== undefined && features.denseLoops.has(at)) {
          edits.open(at, 1).bytes(track.untrackable);
          stats.untrackedLoops++;
        }
        depth++;
        blocks.split(code.offset, true);
        break;
      case InstructionKind.if:
      case InstructionKind.else:
        if (kind === InstructionKind.if) depth++;
        blocks.split(code.offset, false);
        break;
      case InstructionKind.end:
        depth--;
        blocks.split(code.offset, false);
        break;
      case InstructionKind.jump:
        // return pushes the balance as the last result; unreachable stores it first, as the host may
        // read it after a trap (br to the function label lands in the wrapper block, which pushes it).
        if (ins.op === OP.return) {
          if (track !== undefined) edits.open(at, 1).bytes(track.flush);
          cell.load(edits.open(at, 1));
        } else if (ins.op === OP.unreachable) cell.sync(edits.open(at, 1));
        blocks.split(code.offset, false);
        break;
      case InstructionKind.call:
        if (ins.op === OP.call && ins.immediate >= plan.importedFunctions) {
          cell.load(edits.open(at, 1));
          if (plan.threaded[ins.immediate] !== ins.immediate) edits.open(at, 2, code.offset - at).byte(OP.call).varUint(plan.threaded[ins.immediate]);
          cell.store(edits.open(code.offset, 1));
        } else {
          cell.sync(edits.open(at, 1));
          cell.reload(edits.open(code.offset, 1));
        }
        break;
      case InstructionKind.memoryGrow:
        writeGrowCheck(edits.open(code.offset, 1), g);
        break;
      default: {
        const op = ins.op;
        if (op === OP.localGet || op === OP.localSet || op === OP.localTee) {
          if (ins.immediate >= params) edits.open(at, 2, code.offset - at).byte(op).varUint(ins.immediate + 1);
          break;
        }
        const change = stateChangeOf(ins);
        if (change !== undefined) stats.stateChanges.push(change);
        if (track !== undefined) {
          const write = memoryWriteOf(ins);
          if (write !== MemoryWrite.none && !features.untracked.has(at)) {
            if (write === MemoryWrite.bulk) edits.open(at, 1).bytes(track.bulk);
            else track.store(edits.open(at, 1), op, ins.immediate);
            stats.trackedWrites++;
          }
        }
        break;
      }
    }
  }
  if (!code.atEnd) r.fail(`body of function ${index} has bytes after its final end opcode`);
  blocks.finish(localsEnd);
  stats.checks += blocks.checks;
  stats.charges += blocks.charges;
  stats.functions++;

  // Locals as declared (the balance is a parameter) plus the write tracker's, then the body wrapped
  // in a block with the original results, so every way out but `return` (fall-through, a branch to
  // the function label) pushes the balance after it.
  if (track === undefined) w.bytes(bytes.subarray(start, localsEnd));
  else w.varUint(groups + track.groups).bytes(bytes.subarray(groupsStart, localsEnd)).bytes(track.locals);
  const results = signature.results;
  w.byte(OP.block);
  if (results.length === 0) w.byte(0x40);
  else if (results.length === 1) w.byte(VALUE_TYPE[results[0]]);
  else w.varInt(plan.blockType.get(results.join(','))!);
  edits.applyTo(w, bytes, localsEnd, end);
  if (track !== undefined) w.bytes(track.flush);
  cell.load(w).byte(OP.end);
}
