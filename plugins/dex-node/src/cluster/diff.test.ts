import { changedFields } from './diff';

describe('changedFields', () => {
  it('is empty when what the pack sets is there, whatever the server added', () => {
    expect(
      changedFields(
        { spec: { replicas: 1 } },
        { spec: { replicas: 1, strategy: {} }, status: { ready: 1 } },
      ),
    ).toEqual([]);
  });

  it('names the dotted paths that differ, never values', () => {
    expect(
      changedFields(
        { data: { a: '1', b: '2' }, spec: { x: { y: true } } },
        { data: { a: '1', b: 'secret' }, spec: { x: { y: false } } },
      ),
    ).toEqual(['data.b', 'spec.x.y']);
  });

  it('compares lists as a whole, at the list', () => {
    expect(changedFields({ args: ['a', 'b'] }, { args: ['a', 'c'] })).toEqual([
      'args',
    ]);
    expect(changedFields({ args: ['a'] }, { args: ['a', 'b'] })).toEqual([
      'args',
    ]);
    expect(
      changedFields(
        { ports: [{ port: 1 }] },
        { ports: [{ port: 1, protocol: 'TCP' }] },
      ),
    ).toEqual([]);
  });

  it('takes a number and its string form as equal (the server may return either), not an object', () => {
    expect(changedFields({ port: 5556 }, { port: '5556' })).toEqual([]);
    expect(changedFields({ a: 'x' }, { a: { b: 'x' } })).toEqual(['a']);
    expect(changedFields({ a: { b: 1 } }, { a: null })).toEqual(['a']);
    expect(changedFields({ a: 1 }, {})).toEqual(['a']);
  });
});
