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

/** A bounded reader over one message. */
class Reader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}

  varint(): number {
    const start = this.pos;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i += 1) {
      if (this.pos >= this.end) throw truncated();
      const b = this.buf[this.pos++];
      // Multiplication, not shifts: int64 values (generations) go past 32 bits.
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    // 9 or 10 bytes: a negative number (two's complement), or one past 2^56.
    this.pos = start;
    let big = 0n;
    for (let i = 0n; i < 10n; i += 1n) {
      if (this.pos >= this.end) throw truncated();
      const b = this.buf[this.pos++];
      big |= BigInt(b & 0x7f) << (7n * i);
      if (b < 0x80) return Number(BigInt.asIntN(64, big));
    }
    throw new Error('protobuf: a varint longer than 10 bytes');
  }

  /** The bounds of a length-delimited value, moving past it. */
  span(): [number, number] {
    const length = this.varint();
    const start = this.pos;
    if (start + length > this.end) throw truncated();
    this.pos = start + length;
    return [start, this.pos];
  }

  skip(wire: number) {
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_LEN) this.span();
    else if (wire === WIRE_I64) this.pos += 8;
    else if (wire === WIRE_I32) this.pos += 4;
    else throw new Error(`protobuf: wire type ${wire} is not supported`);
    if (this.pos > this.end) throw truncated();
  }

  string(): string {
    const [start, end] = this.span();
    return this.buf.toString('utf8', start, end);
  }
}

function truncated() {
  return new Error('protobuf: the message ends inside a field');
}

function isZero(value: unknown): boolean {
  return value === '' || value === 0 || value === false;
}

function readMapEntry(r: Reader): [string, string] {
  const [start, end] = r.span();
  const entry = new Reader(r.buf, start, end);
  let key = '';
  let value = '';
  while (entry.pos < end) {
    const tag = entry.varint();
    const wire = tag & 7;
    if (tag >>> 3 === 1 && wire === WIRE_LEN) key = entry.string();
    else if (tag >>> 3 === 2 && wire === WIRE_LEN) value = entry.string();
    else entry.skip(wire);
  }
  return [key, value];
}

function readMessage(
  buf: Buffer,
  start: number,
  end: number,
  schema: ProtoMessage,
  into: Record<string, unknown> = {},
): Record<string, unknown> {
  const r = new Reader(buf, start, end);
  while (r.pos < end) {
    const tag = r.varint();
    const wire = tag & 7;
    const field = schema[Math.floor(tag / 8)];
    if (!field) {
      r.skip(wire);
      continue;
    }
    let value: unknown;
    if (field.type === 'map') {
      if (wire !== WIRE_LEN) throw wrongWire(field);
      const [key, v] = readMapEntry(r);
      ((into[field.name] ??= {}) as Record<string, string>)[key] = v;
      continue;
    }
    if (typeof field.type === 'object') {
      if (wire !== WIRE_LEN) throw wrongWire(field);
      const [s, e] = r.span();
      if (field.inline) {
        readMessage(buf, s, e, field.type, into);
        continue;
      }
      value = readMessage(buf, s, e, field.type);
    } else if (field.type === 'string') {
      if (wire !== WIRE_LEN) throw wrongWire(field);
      value = r.string();
    } else {
      if (wire !== WIRE_VARINT) throw wrongWire(field);
      const n = r.varint();
      value = field.type === 'bool' ? n !== 0 : n;
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
function payload(doc: Buffer): [number, number] {
  if (doc.length < MAGIC.length || MAGIC.some((b, i) => doc[i] !== b))
    throw new Error('protobuf: the answer does not start with "k8s\\0"');
  const r = new Reader(doc, MAGIC.length, doc.length);
  while (r.pos < doc.length) {
    const tag = r.varint();
    if (tag === (UNKNOWN_RAW << 3) + WIRE_LEN) return r.span();
    r.skip(tag & 7);
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
  const buf = asBuffer(doc);
  const [start, end] = payload(buf);
  const list = readMessage(buf, start, end, listSchema(item)) as {
    items?: Record<string, unknown>[];
    metadata?: { resourceVersion?: string };
  };
  return {
    items: list.items ?? [],
    resourceVersion: list.metadata?.resourceVersion ?? '',
  };
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
  const buf = asBuffer(doc);
  const [start, end] = payload(buf);
  return { kind: 'Status', ...readMessage(buf, start, end, statusSchema) };
}
