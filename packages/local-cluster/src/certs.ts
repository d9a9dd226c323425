import type Forge from 'node-forge';

// node-forge picks a slow big-integer routine when a global `navigator` exists (Node >= 21 has
// one); hide it while the module loads. (plugins/dex-node/src/pack/forge.ts explains.)
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
const forge = loadForge();

export interface TestPki {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/**
 * A throwaway CA and a serving certificate for loopback, for the local cluster's own
 * apiserver. (The product's certificates are made by dex-node; this is test plumbing.)
 */
export function loopbackPki(
  commonName: string,
  dnsNames: string[] = ['localhost'],
): TestPki {
  const caKeys = forge.pki.rsa.generateKeyPair(2048);
  const ca = forge.pki.createCertificate();
  ca.publicKey = caKeys.publicKey;
  ca.serialNumber = '01';
  ca.validity.notBefore = new Date(Date.now() - 60_000);
  ca.validity.notAfter = new Date(Date.now() + 7 * 24 * 3600_000);
  ca.setSubject([{ name: 'commonName', value: `${commonName}-ca` }]);
  ca.setIssuer(ca.subject.attributes);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true },
  ]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());

  const keys = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '02';
  cert.validity.notBefore = ca.validity.notBefore;
  cert.validity.notAfter = ca.validity.notAfter;
  cert.setSubject([{ name: 'commonName', value: commonName }]);
  cert.setIssuer(ca.subject.attributes);
  cert.setExtensions([
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        ...dnsNames.map(value => ({ type: 2, value })),
        { type: 7, ip: '127.0.0.1' },
      ],
    },
  ]);
  cert.sign(caKeys.privateKey, forge.md.sha256.create());
  return {
    caPem: forge.pki.certificateToPem(ca),
    certPem: forge.pki.certificateToPem(cert),
    keyPem: forge.pki.privateKeyToPem(keys.privateKey),
  };
}
