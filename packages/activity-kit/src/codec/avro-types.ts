import { Type, types } from 'avsc';

import type { AvroSchemaJson } from './schema-fingerprint';

// avsc's internal read/skip protocol, which its public typings leave out. Only the members used here.
interface Tap {
  buf: Buffer;
  pos: number;
  readLong(): number;
  skipLong(): void;
  readString(): string;
  skipString(): void;
  _invalidate(): void;
}
interface Readable {
  _read(tap: Tap): unknown;
  _skip(tap: Tap): void;
}
/** `this` inside `_read`: the type itself, or a resolver that borrowed the type's `_read`. */
interface ReadContext {
  _readerType?: Type;
}

/**
 * `timestamp-millis` as a JavaScript `Date`. Reads any writer `long` (with or without the logical type), as
 * Avro's resolution rules allow.
 */
class TimestampMillisType extends types.LogicalType {
  protected override _fromValue(val: number): Date {
    return toDate(val);
  }

  protected override _toValue(date: unknown): number | undefined {
    // undefined makes avsc report the value as invalid, with its path.
    return date instanceof Date ? date.getTime() : undefined;
  }

  protected override _resolve(type: Type): ((val: number) => Date) | undefined {
    return Type.isType(type, 'long', 'logical:timestamp-millis') ? toDate : undefined;
  }
}

function toDate(millis: number): Date {
  const date = new Date(millis);
  // An Invalid Date would travel on silently and fail far from the record that carried it.
  if (Number.isNaN(date.getTime())) throw new RangeError(`timestamp-millis ${millis} is outside the range of a Date`);
  return date;
}

// A block count says how many items follow, and avsc trusts it: a forged count of 2^31 makes it loop (and
// allocate) for minutes before noticing the buffer ended. Every item of a non-empty type takes at least one
// byte, so a count above the bytes left is a truncated or forged body: stop there. A negative string or bytes
// length moves avsc's position backwards, which inside a block loop can repeat forever: an item must never
// end before it started.
const zeroSizeCache = new WeakMap<object, boolean>();

function canBeZeroBytes(type: Type): boolean {
  const cached = zeroSizeCache.get(type);
  if (cached !== undefined) return cached;
  zeroSizeCache.set(type, false); // breaks recursion through self-referencing records
  let result = false;
  if (type.typeName === 'null') result = true;
  else if (type instanceof types.RecordType) result = type.fields.every((field) => canBeZeroBytes(field.type));
  else if (type instanceof types.FixedType) result = type.size === 0;
  else if (type instanceof types.LogicalType) result = canBeZeroBytes(type.underlyingType);
  zeroSizeCache.set(type, result);
  return result;
}

function skipSizedBlock(tap: Tap): void {
  const byteSize = tap.readLong();
  if (byteSize < 0) tap._invalidate();
  else tap.pos += byteSize;
}

function readerOf(context: ReadContext, fallback: Type): Type {
  return context._readerType ?? fallback;
}

class BoundedArrayType extends types.ArrayType {
  _read(this: BoundedArrayType & ReadContext, tap: Tap): unknown[] {
    const items = this.itemsType as unknown as Readable;
    const guarded = !canBeZeroBytes((readerOf(this, this) as types.ArrayType).itemsType);
    const val: unknown[] = [];
    let n: number;
    while ((n = tap.readLong())) {
      if (n < 0) {
        n = -n;
        tap.skipLong();
      }
      if (guarded && n > tap.buf.length - tap.pos) {
        tap._invalidate();
        return val;
      }
      while (n--) {
        const start = tap.pos;
        val.push(items._read(tap));
        if (tap.pos < start) {
          tap._invalidate();
          return val;
        }
      }
    }
    return val;
  }

  _skip(tap: Tap): void {
    const items = this.itemsType as unknown as Readable;
    const guarded = !canBeZeroBytes(this.itemsType);
    let n: number;
    while ((n = tap.readLong())) {
      if (n < 0) {
        skipSizedBlock(tap);
        continue;
      }
      if (guarded && n > tap.buf.length - tap.pos) {
        tap._invalidate();
        return;
      }
      while (n--) {
        const start = tap.pos;
        items._skip(tap);
        if (tap.pos < start) return tap._invalidate();
      }
    }
  }
}

class BoundedMapType extends types.MapType {
  // Every entry has a key (at least its length byte), so the bound always holds for maps.
  _read(tap: Tap): Record<string, unknown> {
    const values = this.valuesType as Readable;
    const val: Record<string, unknown> = {};
    let n: number;
    while ((n = tap.readLong())) {
      if (n < 0) {
        n = -n;
        tap.skipLong();
      }
      if (n > tap.buf.length - tap.pos) {
        tap._invalidate();
        return val;
      }
      while (n--) {
        const start = tap.pos;
        const key = tap.readString();
        const value = values._read(tap);
        if (tap.pos < start) {
          tap._invalidate();
          return val;
        }
        // A key named __proto__ would otherwise replace the object's prototype instead of adding an entry.
        if (key === '__proto__') {
          Object.defineProperty(val, key, { value, enumerable: true, writable: true, configurable: true });
        } else {
          val[key] = value;
        }
      }
    }
    return val;
  }

  _skip(tap: Tap): void {
    const values = this.valuesType as Readable;
    let n: number;
    while ((n = tap.readLong())) {
      if (n < 0) {
        skipSizedBlock(tap);
        continue;
      }
      if (n > tap.buf.length - tap.pos) {
        tap._invalidate();
        return;
      }
      while (n--) {
        const start = tap.pos;
        tap.skipString();
        values._skip(tap);
        if (tap.pos < start) return tap._invalidate();
      }
    }
  }
}

function boundedCollections(schema: unknown, opts: unknown): Type | undefined {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return undefined;
  const { type, logicalType } = schema as { type?: unknown; logicalType?: unknown };
  if (logicalType !== undefined) return undefined; // let avsc wrap it in its logical type first
  if (type === 'array') return new BoundedArrayType(schema as never, opts);
  if (type === 'map') return new BoundedMapType(schema as never, opts);
  return undefined;
}

/**
 * Parses a reader schema: `timestamp-millis` becomes `Date`, `["null", T]` is unwrapped to `T | null`, and a
 * union of several records (the response outcome) stays wrapped as `{ "<full name>": record }`.
 */
export function parseReaderType(schema: AvroSchemaJson): Type {
  return Type.forSchema(schema as never, {
    wrapUnions: 'auto',
    logicalTypes: { 'timestamp-millis': TimestampMillisType },
    omitRecordMethods: true,
    typeHook: boundedCollections as never,
  });
}

/**
 * Parses a writer schema for resolution only: no logical types (the reader's types convert), but the same
 * bounds on block counts, since skipped writer-only fields are read too.
 */
export function parseWriterType(schema: AvroSchemaJson): Type {
  return Type.forSchema(schema as never, {
    wrapUnions: 'auto',
    omitRecordMethods: true,
    typeHook: boundedCollections as never,
  });
}
