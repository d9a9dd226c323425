import crypto from 'node:crypto';
import type Forge from 'node-forge';
import { isIpv4 } from '@backstage-dex/plugin-dex-common';
import { forge } from './forge';

/** A PEM certificate and its PEM private key. */
export interface KeyPair {
  certPem: string;
  keyPem: string;
}

export interface CertificateInfo {
  subject: string;
  notBefore: Date;
  notAfter: Date;
  dnsNames: string[];
  ipAddresses: string[];
  isCa: boolean;
}

const DAY = 24 * 3600 * 1000;

/** node-forge writes PEM with CRLF line ends; configs and YAML read cleaner with LF. */
function lf(pem: string): string {
  return pem.replace(/\r\n/g, '\n');
}

function serial(): string {
  // Positive 16-byte serial: clear the top bit so DER does not read it as negative.
  const bytes = crypto.randomBytes(16);
  bytes[0] &= 0x7f;
  return bytes.toString('hex');
}

/** An RSA key: PEM for storing and signing, node-forge's public key for the certificate. */
type Keys = { keyPem: string; publicKey: Forge.pki.rsa.PublicKey };

/** PEM private keys made ahead of time (e.g. in parallel by generateKeysPem); used before generating. */
export type KeySource = { next(): string | undefined };

function newKeys(bits: number, source?: KeySource): Keys {
  const keyPem =
    source?.next() ??
    crypto.generateKeyPairSync('rsa', {
      modulusLength: bits,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    }).privateKey;
  const publicPem = crypto
    .createPublicKey(keyPem)
    .export({ type: 'spki', format: 'pem' }) as string;
  return {
    keyPem: lf(keyPem),
    publicKey: forge.pki.publicKeyFromPem(publicPem),
  };
}

/**
 * What node-forge's cert.sign(key, sha256) does, with the RSA signature made by Node's native
 * crypto: node-forge's JavaScript RSA takes tens of milliseconds per signature.
 */
function signSha256(cert: Forge.pki.Certificate, keyPem: string) {
  cert.signatureOid = forge.pki.oids.sha256WithRSAEncryption;
  (
    cert as unknown as { siginfo: { algorithmOid: string } }
  ).siginfo.algorithmOid = cert.signatureOid;
  // getTBSCertificate is public in node-forge but missing from its type definitions.
  const pki = forge.pki as typeof forge.pki & {
    getTBSCertificate(c: Forge.pki.Certificate): Forge.asn1.Asn1;
  };
  cert.tbsCertificate = pki.getTBSCertificate(cert);
  const tbs = Buffer.from(
    forge.asn1.toDer(cert.tbsCertificate).getBytes(),
    'binary',
  );
  cert.signature = crypto.sign('sha256', tbs, keyPem).toString('binary');
}

/**
 * RSA keys generated concurrently on Node's thread pool (key generation dominates certificate
 * cost), as a source for generateCa / issueServingCertificate.
 */
function generateKeyPem(bits: number): Promise<string> {
  return new Promise((resolve, reject) =>
    crypto.generateKeyPair(
      'rsa',
      {
        modulusLength: bits,
        privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
        publicKeyEncoding: { type: 'spki', format: 'pem' },
      },
      (err, _pub, priv) => (err ? reject(err) : resolve(priv)),
    ),
  );
}

export async function generateKeys(
  count: number,
  bits = 2048,
): Promise<KeySource> {
  const pems = await Promise.all(
    Array.from({ length: count }, () => generateKeyPem(bits)),
  );
  return { next: () => pems.shift() };
}

/**
 * RSA keys generated ahead of time, in the background, so a provision does not wait for key
 * generation (the largest part of its own time). A backend keeps one and takes from it; the run
 * that took keys calls refill() once it has written, not at the take: generating three keys takes
 * more CPU than the run's own requests, and on a small machine the apiserver needs that CPU while
 * the run writes. Keys are never reused: each is handed out once.
 */
export class KeyPool {
  private readonly ready: string[] = [];
  private pending = 0;
  private waiting: (() => void)[] = [];

  constructor(
    private readonly size = 3,
    private readonly bits = 2048,
  ) {
    this.refill();
  }

  /** Starts generating keys up to the pool's size (none when full or already under way). */
  refill() {
    while (this.ready.length + this.pending < this.size) {
      this.pending += 1;
      generateKeyPem(this.bits)
        .then(pem => this.ready.push(pem))
        .catch(() => {})
        .finally(() => {
          this.pending -= 1;
          if (this.pending === 0)
            this.waiting.splice(0).forEach(resolve => resolve());
        });
    }
  }

  /** Resolves when no key is being generated (e.g. before timing something else). */
  settled(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise(resolve => this.waiting.push(resolve));
  }

  /** `count` keys: ready ones first, the rest generated now. Call refill() after the run's writes. */
  async take(count: number): Promise<KeySource> {
    const taken = this.ready.splice(0, count);
    const more =
      taken.length < count
        ? await generateKeys(count - taken.length, this.bits)
        : undefined;
    return { next: () => taken.shift() ?? more?.next() };
  }
}

/** A self-signed CA for the pack. */
export function generateCa(
  commonName: string,
  options: { days?: number; bits?: number; keys?: KeySource } = {},
): KeyPair {
  const keys = newKeys(options.bits ?? 2048, options.keys);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 5 * 60_000);
  cert.validity.notAfter = new Date(Date.now() + (options.days ?? 3650) * DAY);
  const subject = [
    { name: 'commonName', value: commonName },
    { name: 'organizationName', value: 'backstage-dex' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    {
      name: 'keyUsage',
      keyCertSign: true,
      cRLSign: true,
      digitalSignature: true,
      critical: true,
    },
    { name: 'subjectKeyIdentifier' },
  ]);
  signSha256(cert, keys.keyPem);
  return { certPem: lf(forge.pki.certificateToPem(cert)), keyPem: keys.keyPem };
}

/** A serving certificate signed by `ca`, valid for every name and IP clients use. */
export function issueServingCertificate(
  ca: KeyPair,
  options: {
    commonName: string;
    names: string[];
    days?: number;
    bits?: number;
    keys?: KeySource;
  },
): KeyPair {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const keys = newKeys(options.bits ?? 2048, options.keys);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 5 * 60_000);
  const days = options.days ?? 825;
  // A leaf never outlives its CA.
  cert.validity.notAfter = new Date(
    Math.min(Date.now() + days * DAY, caCert.validity.notAfter.getTime()),
  );
  cert.setSubject([{ name: 'commonName', value: options.commonName }]);
  cert.setIssuer(caCert.subject.attributes);
  const names = [...new Set(options.names)].sort();
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    {
      name: 'keyUsage',
      digitalSignature: true,
      keyEncipherment: true,
      critical: true,
    },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: names.map(n =>
        isIpv4(n) ? { type: 7, ip: n } : { type: 2, value: n },
      ),
    },
  ]);
  signSha256(cert, ca.keyPem);
  return { certPem: lf(forge.pki.certificateToPem(cert)), keyPem: keys.keyPem };
}

/** Subject, validity and names of a PEM certificate. Reads the certificate only. */
export function certificateInfo(certPem: string): CertificateInfo {
  const entry = parsed(certPem);
  entry.info ??= infoOf(entry.x509);
  // A copy: the cached one is shared.
  const info = entry.info;
  return {
    ...info,
    notBefore: new Date(info.notBefore),
    notAfter: new Date(info.notAfter),
    dnsNames: [...info.dnsNames],
    ipAddresses: [...info.ipAddresses],
  };
}

function infoOf(x: crypto.X509Certificate): CertificateInfo {
  const san = x.subjectAltName ?? '';
  const parts = san
    .split(',')
    .map(s => s.trim())
    .filter(Boolean);
  return {
    subject: x.subject.replace(/\n/g, ', '),
    notBefore: new Date(x.validFrom),
    notAfter: new Date(x.validTo),
    dnsNames: parts.filter(p => p.startsWith('DNS:')).map(p => p.slice(4)),
    ipAddresses: parts
      .filter(p => p.startsWith('IP Address:'))
      .map(p => p.slice(11)),
    isCa: x.ca,
  };
}

/**
 * Parsed certificates by PEM. A re-run checks the same few certificates several times, and the
 * status reader the same hundreds on every request (parsing was most of a cold status request's
 * own time at 50 installations on 3 clusters). Only public certificates; bounded, oldest dropped.
 */
const parsedCertificates = new Map<
  string,
  {
    x509: crypto.X509Certificate;
    info?: CertificateInfo;
    /** Whether the certificate's signature verifies with a CA's key, by the CA's PEM. */
    signedBy?: Map<string, boolean>;
  }
>();
const MAX_PARSED_CERTIFICATES = 1024;

function parsed(certPem: string) {
  let entry = parsedCertificates.get(certPem);
  if (!entry) {
    entry = { x509: new crypto.X509Certificate(certPem) };
    if (parsedCertificates.size >= MAX_PARSED_CERTIFICATES)
      parsedCertificates.delete(parsedCertificates.keys().next().value!);
    parsedCertificates.set(certPem, entry);
  }
  return entry;
}

/** True when `certPem` was signed by `caPem` and covers every name in `names`. */
export function certificateCovers(
  certPem: string,
  caPem: string,
  names: string[],
): boolean {
  try {
    const cert = parsed(certPem);
    // A signature check is an RSA operation: done once per certificate and CA (a re-run checks
    // the same pairs again).
    cert.signedBy ??= new Map();
    let signed = cert.signedBy.get(caPem);
    if (signed === undefined) {
      signed = cert.x509.verify(parsed(caPem).x509.publicKey);
      cert.signedBy.set(caPem, signed);
    }
    if (!signed) return false;
    const info = certificateInfo(certPem);
    const have = new Set([...info.dnsNames, ...info.ipAddresses]);
    return (
      names.every(n => have.has(n)) &&
      info.notAfter.getTime() > Date.now() + 30 * DAY
    );
  } catch {
    return false;
  }
}

/**
 * Answers of keyMatchesCertificate by a digest of the pair (an unchanged re-run reads the same
 * PEMs into new objects; parsing the private key is most of the check). Only the digest is kept.
 */
const keyMatches = new Map<string, boolean>();
const MAX_KEY_MATCHES = 64;

/** True when the key belongs to the certificate. */
export function keyMatchesCertificate(pair: KeyPair): boolean {
  const digest = crypto
    .createHash('sha256')
    .update(pair.certPem)
    .update('\0')
    .update(pair.keyPem)
    .digest('base64');
  let matches = keyMatches.get(digest);
  if (matches === undefined) {
    try {
      matches = parsed(pair.certPem).x509.checkPrivateKey(
        crypto.createPrivateKey(pair.keyPem),
      );
    } catch {
      matches = false;
    }
    if (keyMatches.size >= MAX_KEY_MATCHES)
      keyMatches.delete(keyMatches.keys().next().value!);
    keyMatches.set(digest, matches);
  }
  return matches;
}
