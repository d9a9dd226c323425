import {
  ProtoMessage,
  decodeList,
  decodeStatus,
  projectJson,
} from './protobuf';

// Hand-encoded documents for what real lists rarely carry; listedFields.test.ts decodes real ones.

function varint(n: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v ? low | 0x80 : low);
  } while (v);
  return out;
}
const field = (n: number, wire: number) => varint(n * 8 + wire);
const int = (n: number, v: number | bigint) => [...field(n, 0), ...varint(v)];
const bytes = (n: number, b: number[]) => [
  ...field(n, 2),
  ...varint(b.length),
  ...b,
];
const str = (n: number, s: string) => bytes(n, [...Buffer.from(s, 'utf8')]);
/** "k8s\0" + runtime.Unknown{typeMeta, raw}. */
const document = (raw: number[]) =>
  new Uint8Array([
    0x6b,
    0x38,
    0x73,
    0,
    ...bytes(1, [...str(1, 'v1'), ...str(2, 'List')]),
    ...bytes(2, raw),
  ]);
const list = (resourceVersion: string, items: number[][]) => [
  ...bytes(1, str(2, resourceVersion)),
  ...items.flatMap(i => bytes(2, i)),
];

const item: ProtoMessage = {
  1: { name: 'name', type: 'string' },
  2: { name: 'replicas', type: 'int', keepZero: true },
  3: { name: 'count', type: 'int' },
  4: { name: 'labels', type: 'map' },
  5: { name: 'hosts', type: 'string', repeated: true },
  6: {
    name: 'rule',
    inline: true,
    type: { 1: { name: 'http', type: 'bool' } },
  },
};

/** The first item below as decoded, and as projected from its JSON. */
const DEX_ITEM = {
  name: 'dex',
  replicas: 0,
  count: -1,
  labels: { app: '', tier: 'auth' },
  hosts: ['a.example', 'b.example'],
  http: true,
};

describe('decodeList', () => {
  it('reads the named fields in the JSON shape and skips the others, of every wire type', () => {
    const doc = document(
      list('42', [
        [
          ...str(1, 'dex'),
          ...int(2, 0),
          ...int(3, -1),
          ...bytes(4, [...str(1, 'app'), ...str(2, '')]),
          ...bytes(4, [...str(1, 'tier'), ...str(2, 'auth')]),
          ...str(5, 'a.example'),
          ...str(5, 'b.example'),
          ...bytes(6, int(1, 1)),
          // Not in the schema: a fixed64, a fixed32, a varint, a message.
          ...field(9, 1),
          ...[1, 2, 3, 4, 5, 6, 7, 8],
          ...field(10, 5),
          ...[1, 2, 3, 4],
          ...int(11, 2 ** 40),
          ...bytes(12, str(1, 'skipped')),
        ],
        // Zero values are absent, as the JSON's omitempty fields are; a kept zero stays.
        [...str(1, ''), ...int(3, 0), ...int(2, 0)],
      ]),
    );
    expect(decodeList(doc, item)).toEqual({
      resourceVersion: '42',
      items: [DEX_ITEM, { replicas: 0 }],
    });
  });

  it('reads int64 values past 32 bits', () => {
    const doc = document(list('1', [int(3, 2 ** 40 + 3)]));
    expect(decodeList(doc, item).items).toEqual([{ count: 2 ** 40 + 3 }]);
  });

  it('refuses what is not a Kubernetes protobuf document, or ends inside a field', () => {
    expect(() =>
      decodeList(new Uint8Array(Buffer.from('{"items":[]}')), item),
    ).toThrow('does not start with "k8s\\0"');
    const whole = document(list('1', [str(1, 'dex')]));
    expect(() => decodeList(whole.subarray(0, whole.length - 2), item)).toThrow(
      'ends inside a field',
    );
  });

  it('refuses a named field with another wire type than its schema says', () => {
    const doc = document(list('1', [int(1, 5)]));
    expect(() => decodeList(doc, item)).toThrow(
      'field "name" has an unexpected wire type',
    );
  });
});

describe('decodeStatus', () => {
  it('reads an error answer as the JSON Status it stands for', () => {
    const doc = document([
      ...bytes(1, []),
      ...str(2, 'Failure'),
      ...str(3, 'configmaps is forbidden'),
      ...str(4, 'Forbidden'),
      ...int(6, 403),
    ]);
    expect(decodeStatus(doc)).toEqual({
      kind: 'Status',
      status: 'Failure',
      message: 'configmaps is forbidden',
      reason: 'Forbidden',
      code: 403,
    });
  });
});

describe('projectJson', () => {
  it('keeps of a JSON object what decodeList gives of the same object', () => {
    expect(
      projectJson(
        {
          ...DEX_ITEM,
          // Not in the schema.
          managedFields: [{ manager: 'kubectl' }],
          spec: { template: { env: [{ name: 'X', value: 'y' }] } },
        },
        item,
      ),
    ).toEqual(DEX_ITEM);
    // Zero values are left out as decoding leaves them out; a kept zero stays.
    expect(projectJson({ name: '', count: 0, replicas: 0 }, item)).toEqual({
      replicas: 0,
    });
  });

  it('projects nested and repeated messages, and leaves out what the object lacks', () => {
    const schema: ProtoMessage = {
      1: {
        name: 'status',
        type: {
          1: {
            name: 'conditions',
            repeated: true,
            type: { 1: { name: 'type', type: 'string' } },
          },
        },
      },
      2: { name: 'spec', type: { 1: { name: 'replicas', type: 'int' } } },
    };
    expect(
      projectJson(
        {
          status: {
            conditions: [
              { type: 'Available', reason: 'MinimumReplicasAvailable' },
            ],
            readyReplicas: 1,
          },
        },
        schema,
      ),
    ).toEqual({ status: { conditions: [{ type: 'Available' }] } });
  });
});
