/**
 * Reading the Kubernetes protobuf encoding (application/vnd.kubernetes.protobuf) into the shape of
 * the apiserver's JSON, for the fields a schema names: everything else on the wire is skipped by
 * its length, without decoding it. The apiserver encodes a list in protobuf for about two thirds
 * of the CPU it spends on JSON, and skipping managedFields and pod templates costs nothing here,
 * where JSON.parse has to read every byte.
 */

/**
 * How one field of a message becomes a JSON property.
 *
 * @public
 */
export interface ProtoField {
  /** The JSON property name. */
  name: string;
  /** A scalar, a map<string,string>, or a message with its own fields. */
  type: 'string' | 'int' | 'bool' | 'map' | ProtoMessage;
  repeated?: boolean;
  /**
   * Kept when zero ("" / 0 / false). Other fields are left out when zero, as the JSON leaves out
   * its omitempty fields: protobuf writes every non-pointer field, JSON only the set ones. Set it
   * for pointer fields whose zero means something (a Deployment's spec.replicas: 0).
   */
  keepZero?: boolean;
  /** A message whose fields are the parent's in JSON (Go's inline struct, e.g. IngressRule.http). */
  inline?: boolean;
}

/**
 * The fields to read of one message, by field number; the others are skipped.
 *
 * @public
 */
export type ProtoMessage = { readonly [field: number]: ProtoField };

/** The magic prefix of every Kubernetes protobuf document ("k8s" and a zero byte). */
const MAGIC = [0x6b, 0x38, 0x73, 0x00];

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

const utf8Slice = (
  Buffer.prototype as { utf8Slice?: (start: number, end: number) => string }
).utf8Slice;

/**
 * A reader over one document: messages are read within bounds (`end`) on the one buffer, with no
 * object per message; decoding is synchronous, so one reader per document is enough.
 */
class Reader {
  pos = 0;

  constructor(readonly buf: Buffer) {}

  varint(end: number): number {
    const buf = this.buf;
    const start = this.pos;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i += 1) {
      if (this.pos >= end) throw truncated();
      const b = buf[this.pos++];
      // Multiplication, not shifts: int64 values (generations) go past 32 bits.
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    // 9 or 10 bytes: a negative number (two's complement), or one past 2^56.
    this.pos = start;
    let big = 0n;
    for (let i = 0n; i < 10n; i += 1n) {
      if (this.pos >= end) throw truncated();
      const b = buf[this.pos++];
      big |= BigInt(b & 0x7f) << (7n * i);
      if (b < 0x80) return Number(BigInt.asIntN(64, big));
    }
    throw new Error('protobuf: a varint longer than 10 bytes');
  }

  /** The end of a length-delimited value starting at `pos` (after its length). */
  lengthEnd(end: number): number {
    const length = this.varint(end);
    const valueEnd = this.pos + length;
    if (valueEnd > end) throw truncated();
    return valueEnd;
  }

  skip(wire: number, end: number) {
    if (wire === WIRE_VARINT) this.varint(end);
    else if (wire === WIRE_LEN) this.pos = this.lengthEnd(end);
    else if (wire === WIRE_I64) this.pos += 8;
    else if (wire === WIRE_I32) this.pos += 4;
    else throw new Error(`protobuf: wire type ${wire} is not supported`);
    if (this.pos > end) throw truncated();
  }

  string(end: number): string {
    const valueEnd = this.lengthEnd(end);
    const start = this.pos;
    this.pos = valueEnd;
    // Buffer's own slice method where there is one (Node's Buffers), as protobufjs reads
    // strings: toString() adds argument checks to every call, most of the time for short strings.
    return utf8Slice
      ? utf8Slice.call(this.buf, start, valueEnd)
      : this.buf.toString('utf8', start, valueEnd);
  }
}

function truncated() {
  return new Error('protobuf: the message ends inside a field');
}

function isZero(value: unknown): boolean {
  return value === '' || value === 0 || value === false;
}

function readMapEntry(
  r: Reader,
  end: number,
  into: Record<string, string>,
): void {
  const entryEnd = r.lengthEnd(end);
  let key = '';
  let value = '';
  while (r.pos < entryEnd) {
    const tag = r.varint(entryEnd);
    const wire = tag & 7;
    if (tag === 10) key = r.string(entryEnd);
    else if (tag === 18) value = r.string(entryEnd);
    else r.skip(wire, entryEnd);
  }
  into[key] = value;
}

function readMessage(
  r: Reader,
  end: number,
  schema: ProtoMessage,
  into: Record<string, unknown> = {},
): Record<string, unknown> {
  while (r.pos < end) {
    const tag = r.varint(end);
    const wire = tag & 7;
    const field = schema[Math.floor(tag / 8)];
    if (!field) {
      r.skip(wire, end);
      continue;
    }
    let value: unknown;
    const type = field.type;
    if (type === 'map') {
      if (wire !== WIRE_LEN) throw wrongWire(field);
      readMapEntry(r, end, (into[field.name] ??= {}) as Record<string, string>);
      continue;
    }
    if (typeof type === 'object') {
      if (wire !== WIRE_LEN) throw wrongWire(field);
      const valueEnd = r.lengthEnd(end);
      if (field.inline) {
        readMessage(r, valueEnd, type, into);
        continue;
      }
      value = readMessage(r, valueEnd, type);
    } else if (type === 'string') {
      if (wire !== WIRE_LEN) throw wrongWire(field);
      value = r.string(end);
    } else {
      if (wire !== WIRE_VARINT) throw wrongWire(field);
      const n = r.varint(end);
      value = type === 'bool' ? n !== 0 : n;
    }
    if (field.repeated) {
      ((into[field.name] ??= []) as unknown[]).push(value);
    } else if (field.keepZero || !isZero(value)) {
      into[field.name] = value;
    }
  }
  return into;
}

function wrongWire(field: ProtoField) {
  return new Error(
    `protobuf: field "${field.name}" has an unexpected wire type`,
  );
}

/** The same bytes as a Buffer, whose toString decodes UTF-8 faster than a TextDecoder. */
function asBuffer(doc: Uint8Array): Buffer {
  return Buffer.isBuffer(doc)
    ? doc
    : Buffer.from(doc.buffer, doc.byteOffset, doc.byteLength);
}

/** runtime.Unknown, the envelope after the magic: its raw bytes are the object. */
const UNKNOWN_RAW = 2;

/** The object inside a Kubernetes protobuf document (after the magic, inside runtime.Unknown). */
function payload(doc: Buffer): { r: Reader; end: number } {
  if (doc.length < MAGIC.length || MAGIC.some((b, i) => doc[i] !== b))
    throw new Error('protobuf: the answer does not start with "k8s\\0"');
  const r = new Reader(doc);
  r.pos = MAGIC.length;
  while (r.pos < doc.length) {
    const tag = r.varint(doc.length);
    if (tag === (UNKNOWN_RAW << 3) + WIRE_LEN)
      return { r, end: r.lengthEnd(doc.length) };
    r.skip(tag & 7, doc.length);
  }
  throw new Error('protobuf: the document has no object');
}

/** Any *List: ListMeta (resourceVersion) and items. */
const listSchema = (item: ProtoMessage): ProtoMessage => ({
  1: {
    name: 'metadata',
    type: { 2: { name: 'resourceVersion', type: 'string' } },
  },
  2: { name: 'items', type: item, repeated: true },
});

/** A list's items (each with the fields `item` names) and its resourceVersion. */
export function decodeList(
  doc: Uint8Array,
  item: ProtoMessage,
): { items: Record<string, unknown>[]; resourceVersion: string } {
  const { r, end } = payload(asBuffer(doc));
  const list = readMessage(r, end, listSchema(item)) as {
    items?: Record<string, unknown>[];
    metadata?: { resourceVersion?: string };
  };
  return {
    items: list.items ?? [],
    resourceVersion: list.metadata?.resourceVersion ?? '',
  };
}

/**
 * The fields a schema names of an object in the apiserver's JSON (a watch event's), in the shape
 * decodeList gives them: the same object read either way keeps the same fields, and zero scalars
 * are left out unless `keepZero`, as decoding leaves them out.
 */
export function projectJson(
  value: Record<string, unknown>,
  schema: ProtoMessage,
  into: Record<string, unknown> = {},
): Record<string, unknown> {
  for (const field of Object.values(schema)) {
    const { type } = field;
    if (field.inline && typeof type === 'object') {
      projectJson(value, type, into);
      continue;
    }
    const v = value[field.name];
    if (v === undefined || v === null) continue;
    if (typeof type === 'object') {
      const project = (m: unknown) =>
        m && typeof m === 'object'
          ? projectJson(m as Record<string, unknown>, type)
          : {};
      into[field.name] = field.repeated
        ? (Array.isArray(v) ? v : []).map(project)
        : project(v);
    } else if (
      field.repeated ||
      type === 'map' ||
      field.keepZero ||
      !isZero(v)
    ) {
      into[field.name] = v;
    }
  }
  return into;
}

/** meta/v1 Status, as the apiserver answers an error in protobuf to a client that asked for it. */
const statusSchema: ProtoMessage = {
  2: { name: 'status', type: 'string' },
  3: { name: 'message', type: 'string' },
  4: { name: 'reason', type: 'string' },
  6: { name: 'code', type: 'int' },
};

/** An error answer in protobuf, as the JSON Status it stands for. */
export function decodeStatus(doc: Uint8Array): Record<string, unknown> {
  const { r, end } = payload(asBuffer(doc));
  return { kind: 'Status', ...readMessage(r, end, statusSchema) };
}
