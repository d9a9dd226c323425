import crypto from 'node:crypto';
import { KeyPool } from './certificates';

describe('KeyPool', () => {
  it('has its keys ready once settled, hands each out once, and refills when asked', async () => {
    const pool = new KeyPool(2, 1024);
    await pool.settled();
    const source = await pool.take(2);
    const keys = [source.next(), source.next()];
    expect(source.next()).toBeUndefined();
    for (const pem of keys)
      expect(crypto.createPrivateKey(pem!).asymmetricKeyType).toBe('rsa');
    pool.refill();
    await pool.settled();
    const refilled = await pool.take(2);
    const again = [refilled.next(), refilled.next()];
    expect(new Set([...keys, ...again]).size).toBe(4);
  });
});
