// A restricted unpickler: it reads the values of a pickle (protocols 2–5) without ever running code. Python's
// unpickler imports and calls whatever a file names (a `__reduce__` can call os.system); this one resolves a
// global only through the caller's allowlist, and anything else (an unknown global, a call of a class token,
// the text opcodes of protocol 0, an extension code) stops the read with one sentence.
// Values: None → null, bool, int → number (bigint beyond 2^53), float, str, bytes → Uint8Array, list and
// tuple → arrays, dict → Map; what an allowed global's call returns is the caller's own value.

export type PickleValue = null | boolean | number | bigint | string | Uint8Array | PickleValue[] | Map<PickleValue, PickleValue> | PickleGlobal | object;

/** A global the allowlist knows: `call` makes REDUCE/NEWOBJ on it legal; without it, it is only a token (a class passed as an argument). */
export interface PickleGlobal {
  readonly module: string;
  readonly name: string;
  readonly call?: (args: PickleValue[]) => PickleValue;
}

export interface UnpickleOptions {
  /** Returns the global, or undefined to refuse it. */
  findGlobal(module: string, name: string): PickleGlobal | undefined;
  /** Resolves a persistent id (PyTorch's storages). */
  persistentLoad?(pid: PickleValue): PickleValue;
  /** Names the file in messages. */
  source?: string;
}

export class UnpickleError extends Error {}

const isGlobal = (v: unknown): v is PickleGlobal => typeof v === 'object' && v !== null && 'module' in v && 'name' in v && !(v instanceof Map) && !Array.isArray(v);

/** Most memo entries and stack items a state_dict needs is a few thousand; refuse absurd ones before they cost memory. */
const MAX_ITEMS = 10_000_000;

export function unpickle(data: Uint8Array, opts: UnpickleOptions): PickleValue {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const source = opts.source ?? 'pickle';
  const fail = (why: string): never => { throw new UnpickleError(`${source}: ${why}`); };
  let pos = 0;
  let stack: PickleValue[] = [];
  const marks: PickleValue[][] = [];
  const memo = new Map<number, PickleValue>();

  const need = (n: number) => { if (pos + n > buf.length) fail('ends in the middle of an instruction (truncated)'); };
  const u8 = () => { need(1); return buf[pos++]; };
  const u16 = () => { need(2); const v = buf.readUInt16LE(pos); pos += 2; return v; };
  const u32 = () => { need(4); const v = buf.readUInt32LE(pos); pos += 4; return v; };
  const i32 = () => { need(4); const v = buf.readInt32LE(pos); pos += 4; return v; };
  const u64 = () => {
    need(8);
    const v = buf.readBigUInt64LE(pos);
    pos += 8;
    if (v > BigInt(buf.length)) fail(`declares a length of ${v} bytes in a file of ${buf.length}`);
    return Number(v);
  };
  const bytes = (n: number) => { need(n); const b = buf.subarray(pos, pos + n); pos += n; return b; };
  const line = () => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) fail('ends in the middle of a global name (truncated)');
    const s = buf.toString('utf8', pos, end);
    pos = end + 1;
    return s;
  };
  const pop = (): PickleValue => { if (stack.length === 0) fail('pops an empty stack (corrupt)'); return stack.pop()!; };
  const top = (): PickleValue => { if (stack.length === 0) fail('reads an empty stack (corrupt)'); return stack[stack.length - 1]; };
  const popMark = (): PickleValue[] => {
    const items = stack;
    if (marks.length === 0) fail('closes a mark it never opened (corrupt)');
    stack = marks.pop()!;
    return items;
  };
  const push = (v: PickleValue) => {
    if (stack.length >= MAX_ITEMS) fail(`holds more than ${MAX_ITEMS} values at once`);
    stack.push(v);
  };
  const put = (i: number) => {
    if (memo.size >= MAX_ITEMS) fail(`memoises more than ${MAX_ITEMS} values`);
    memo.set(i, top());
  };
  const get = (i: number) => { if (!memo.has(i)) fail(`refers to memo entry ${i}, which was never stored (corrupt)`); push(memo.get(i)!); };
  const resolve = (module: string, name: string) => {
    const g = opts.findGlobal(module, name);
    if (!g) fail(`refuses the global ${module}.${name}: only what a state_dict is made of is read, and loading never runs code`);
    push(g!);
  };
  const call = (fn: PickleValue, args: PickleValue) => {
    if (!isGlobal(fn) || !fn.call) fail(`refuses to call ${isGlobal(fn) ? `${fn.module}.${fn.name}` : 'a value that is not an allowed function'}: loading never runs code`);
    if (!Array.isArray(args)) fail('calls a function without an argument tuple (corrupt)');
    push((fn as PickleGlobal).call!(args as PickleValue[]));
  };
  const setItems = (target: PickleValue, items: PickleValue[]) => {
    if (!(target instanceof Map)) fail('sets items on a value that is not a dict');
    if (items.length % 2) fail('sets a key without a value (corrupt)');
    for (let i = 0; i < items.length; i += 2) (target as Map<PickleValue, PickleValue>).set(items[i], items[i + 1]);
  };
  const appendAll = (target: PickleValue, items: PickleValue[]) => {
    if (!Array.isArray(target)) fail('appends to a value that is not a list');
    for (const it of items) (target as PickleValue[]).push(it);
  };
  const long = (b: Buffer): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: if (u8() > 5) fail('uses a pickle protocol newer than 5'); break; // PROTO
      case 0x95: u64(); break; // FRAME: a length hint only
      case 0x2e: { // STOP
        if (stack.length !== 1 || marks.length) fail('ends with an unbalanced stack (corrupt)');
        return stack[0];
      }
      case 0x28: marks.push(stack); stack = []; break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: push(top()); break; // DUP
      case 0x4e: push(null); break; // NONE
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x4a: push(i32()); break; // BININT
      case 0x4b: push(u8()); break; // BININT1
      case 0x4d: push(u16()); break; // BININT2
      case 0x8a: push(long(bytes(u8()))); break; // LONG1
      case 0x8b: { const n = i32(); if (n < 0) fail('declares a negative length'); push(long(bytes(n))); break; } // LONG4
      case 0x47: { need(8); push(buf.readDoubleBE(pos)); pos += 8; break; } // BINFLOAT
      case 0x58: push(bytes(u32()).toString('utf8')); break; // BINUNICODE
      case 0x8c: push(bytes(u8()).toString('utf8')); break; // SHORT_BINUNICODE
      case 0x8d: push(bytes(u64()).toString('utf8')); break; // BINUNICODE8
      case 0x54: push(bytes(u32()).toString('latin1')); break; // BINSTRING (Python 2 str)
      case 0x55: push(bytes(u8()).toString('latin1')); break; // SHORT_BINSTRING
      case 0x42: push(new Uint8Array(bytes(u32()))); break; // BINBYTES
      case 0x43: push(new Uint8Array(bytes(u8()))); break; // SHORT_BINBYTES
      case 0x8e: push(new Uint8Array(bytes(u64()))); break; // BINBYTES8
      case 0x5d: push([]); break; // EMPTY_LIST
      case 0x29: push([]); break; // EMPTY_TUPLE
      case 0x7d: push(new Map()); break; // EMPTY_DICT
      case 0x6c: push(popMark()); break; // LIST
      case 0x74: push(popMark()); break; // TUPLE
      case 0x85: push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); push([pop(), b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); push([pop(), b, c]); break; } // TUPLE3
      case 0x64: { const items = popMark(); const d = new Map(); setItems(d, items); push(d); break; } // DICT
      case 0x61: { const v = pop(); appendAll(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); appendAll(top(), items); break; } // APPENDS
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x71: put(u8()); break; // BINPUT
      case 0x72: put(u32()); break; // LONG_BINPUT
      case 0x94: put(memo.size); break; // MEMOIZE
      case 0x68: get(u8()); break; // BINGET
      case 0x6a: get(u32()); break; // LONG_BINGET
      case 0x63: { const module = line(); resolve(module, line()); break; } // GLOBAL
      case 0x93: { const name = pop(); const module = pop(); if (typeof module !== 'string' || typeof name !== 'string') fail('names a global with values that are not strings'); resolve(module as string, name as string); break; } // STACK_GLOBAL
      case 0x52: { const args = pop(); call(pop(), args); break; } // REDUCE
      case 0x81: { const args = pop(); call(pop(), args); break; } // NEWOBJ
      case 0x62: { // BUILD: state for the object below; only a dict's attributes (a state_dict's _metadata) are accepted, and dropped
        const state = pop();
        const obj = top();
        if (!(obj instanceof Map)) fail('sets the state of an object: loading never runs code');
        if (state !== null && !(state instanceof Map) && !Array.isArray(state)) fail('sets an object state of an unknown kind');
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!opts.persistentLoad) fail('refers to external data (a persistent id) that this reader does not take');
        push(opts.persistentLoad!(pid));
        break;
      }
      default: {
        const text = 'IiSVpgPFLoa'.includes(String.fromCharCode(op));
        fail(text
          ? `uses protocol 0 (text) opcode '${String.fromCharCode(op)}' at byte ${pos - 1}; only binary pickles (protocol 2 and later) are read`
          : `has an opcode 0x${op.toString(16)} at byte ${pos - 1} that a state_dict never needs`);
      }
    }
  }
}
