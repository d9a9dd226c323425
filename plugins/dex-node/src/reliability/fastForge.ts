/**
 * Import first in these tests. node-forge's big-integer code picks its slowest multiply routine
 * (one that calls Math.floor in its inner loop) whenever `navigator` exists, which it does on
 * Node >= 21; inside jest's vm context every such global lookup is slow too, so one RSA signature
 * took ~1.3 s instead of ~50 ms. Hiding `navigator` before forge loads picks the fast routine.
 */
if (typeof navigator !== 'undefined') {
  Object.defineProperty(globalThis, 'navigator', { value: undefined, configurable: true, writable: true });
}
export {};
