import crypto from 'node:crypto';
import bcrypt from 'bcryptjs';
import { PackSpec } from '@backstage-dex/plugin-dex-common';
import {
  KeyPair,
  KeySource,
  certificateCovers,
  generateCa,
  issueServingCertificate,
  keyMatchesCertificate,
} from './certificates';
import { authenticatorNames, dexNames, objectNames } from './names';

/**
 * The secret material of a pack: certificates, client secrets, password hashes. Generated once
 * and then read back from the cluster's Secrets on every re-run, so re-runs do not rotate.
 */
export interface PackMaterial {
  ca: KeyPair;
  dexTls: KeyPair;
  authenticatorTls?: KeyPair;
  /** Client secrets by client id (the pack's own client and generated static-client secrets). */
  clientSecrets: Record<string, string>;
  /** bcrypt hashes of static users' passwords, by email. */
  passwordHashes: Record<string, string>;
  /**
   * Values given to the action as secret inputs (stored ones, with this run's given over them),
   * by key: the installation's own Secret of them, which the spec references.
   */
  secretInputs?: Record<string, string>;
}

/** Values of the Secrets a spec references, keyed "secretName/key" (read from the cluster). */
export type ReferencedValues = Record<string, string>;

export function refKey(ref: { name: string; key: string }): string {
  return `${ref.name}/${ref.key}`;
}

export interface PrepareOptions {
  existing?: Partial<PackMaterial>;
  referenced?: ReferencedValues;
  /** Issue a new CA and new serving certificates even when the existing ones are valid. */
  rotateCertificates?: boolean;
  /** Keys made ahead of time (generateKeys), consumed before generating any. */
  keys?: KeySource;
  /** Secret inputs given in this run: stored over the existing ones of the same key. */
  secretInputs?: Record<string, string>;
}

export interface PreparedMaterial {
  material: PackMaterial;
  /** What was generated rather than reused, for the action's log (names only, never values). */
  generated: string[];
}

function randomSecret(): string {
  return crypto.randomBytes(32).toString('base64url');
}

/** Reuses what exists and is still valid; generates the rest. */
export function prepareMaterial(
  spec: PackSpec,
  options: PrepareOptions = {},
): PreparedMaterial {
  const existing = options.existing ?? {};
  const generated: string[] = [];
  const names = objectNames(spec);

  let ca = existing.ca;
  if (options.rotateCertificates || !ca || !keyMatchesCertificate(ca)) {
    ca = generateCa(`${spec.instance}.${spec.namespace} Dex CA`, {
      keys: options.keys,
    });
    generated.push(`CA (${names.caSecret})`);
  }
  const serving = (
    current: KeyPair | undefined,
    commonName: string,
    wanted: string[],
    label: string,
  ) => {
    if (
      !options.rotateCertificates &&
      current &&
      keyMatchesCertificate(current) &&
      certificateCovers(current.certPem, ca!.certPem, wanted)
    ) {
      return current;
    }
    generated.push(label);
    return issueServingCertificate(ca!, {
      commonName,
      names: wanted,
      keys: options.keys,
    });
  };
  const dexTls = serving(
    existing.dexTls,
    names.dexService,
    dexNames(spec),
    `Dex serving certificate (${names.tlsSecret})`,
  );
  const authenticatorTls = spec.authenticator.enabled
    ? serving(
        existing.authenticatorTls,
        names.authenticator,
        authenticatorNames(spec),
        `authenticator serving certificate (${names.authenticatorTlsSecret})`,
      )
    : undefined;

  const clientSecrets: Record<string, string> = {};
  const ownIds = [
    spec.clientId,
    ...spec.staticClients.filter(c => !c.secretRef && !c.public).map(c => c.id),
  ];
  for (const id of ownIds) {
    const kept = existing.clientSecrets?.[id];
    if (kept) {
      clientSecrets[id] = kept;
    } else {
      clientSecrets[id] = randomSecret();
      generated.push(`client secret for ${id} (${names.clientsSecret})`);
    }
  }

  const passwordHashes: Record<string, string> = {};
  for (const user of spec.staticUsers) {
    if (user.hash) {
      passwordHashes[user.email] = user.hash;
      continue;
    }
    const password = user.passwordRef
      ? options.referenced?.[refKey(user.passwordRef)]
      : undefined;
    if (password === undefined) {
      throw new Error(
        `staticUsers ${user.email}: the Secret key ${user.passwordRef?.name}/${user.passwordRef?.key} was not found in namespace ${spec.namespace}; create it before applying`,
      );
    }
    const kept = existing.passwordHashes?.[user.email];
    if (kept && bcrypt.compareSync(password, kept)) {
      passwordHashes[user.email] = kept;
    } else {
      passwordHashes[user.email] = bcrypt.hashSync(password, 10);
      generated.push(`password hash for ${user.email}`);
    }
  }
  const secretInputs = {
    ...existing.secretInputs,
    ...options.secretInputs,
  };
  return {
    material: {
      ca,
      dexTls,
      authenticatorTls,
      clientSecrets,
      passwordHashes,
      secretInputs,
    },
    generated,
  };
}

type SecretLike = {
  metadata?: { name?: string };
  data?: Record<string, string>;
};

function decode(s: SecretLike | undefined, key: string): string | undefined {
  const v = s?.data?.[key];
  return v === undefined
    ? undefined
    : Buffer.from(v, 'base64').toString('utf8');
}

function pair(s: SecretLike | undefined): KeyPair | undefined {
  const certPem = decode(s, 'tls.crt');
  const keyPem = decode(s, 'tls.key');
  return certPem && keyPem ? { certPem, keyPem } : undefined;
}

/** Reads the material back from the pack's Secrets as they are in the cluster. */
export function materialFromSecrets(
  spec: PackSpec,
  secrets: SecretLike[],
): Partial<PackMaterial> {
  const names = objectNames(spec);
  const byName = new Map(secrets.map(s => [s.metadata?.name, s]));
  const clients = byName.get(names.clientsSecret);
  const clientSecrets: Record<string, string> = {};
  for (const key of Object.keys(clients?.data ?? {}))
    clientSecrets[key] = decode(clients, key)!;
  const hashes = byName.get(names.configSecret);
  const passwordHashes: Record<string, string> = {};
  const hashDoc = decode(hashes, 'password-hashes.json');
  if (hashDoc) Object.assign(passwordHashes, JSON.parse(hashDoc));
  const inputs = byName.get(names.secretInputs);
  const secretInputs: Record<string, string> = {};
  for (const key of Object.keys(inputs?.data ?? {}))
    secretInputs[key] = decode(inputs, key)!;
  return {
    ca: pair(byName.get(names.caSecret)),
    dexTls: pair(byName.get(names.tlsSecret)),
    authenticatorTls: pair(byName.get(names.authenticatorTlsSecret)),
    clientSecrets,
    passwordHashes,
    secretInputs,
  };
}
