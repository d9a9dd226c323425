/**
 * node-forge, loaded so its big-integer code picks its fast multiply routine. It picks the slow
 * one whenever a global `navigator` exists (it takes that for an old browser), and Node >= 21
 * defines one: RSA signing is then several times slower (~1.3 s per signature under jest). The
 * global is hidden only while the module loads.
 */
import type * as Forge from 'node-forge';

function loadForge(): typeof Forge {
  const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  if (descriptor)
    Object.defineProperty(globalThis, 'navigator', {
      value: undefined,
      configurable: true,
    });
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('node-forge');
  } finally {
    if (descriptor) Object.defineProperty(globalThis, 'navigator', descriptor);
  }
}

export const forge = loadForge();
