import { InputError } from '@backstage/errors';
import type { KubernetesObject, V1Secret } from '@kubernetes/client-node';
import {
  DEFAULT_USABLE_SECRET_LABEL,
  PackSpec,
  PlatformPolicy,
  connectorSecretRefs,
} from '@backstage-dex/plugin-dex-common';
import { ReferencedValues, refKey } from './material';
import { objectNames } from './names';
import { PackOwner, ownershipOf } from './ownership';

/**
 * Whether the stored Secret of secret inputs (if any) is the installation's own, so its values
 * may be read and kept.
 */
export function secretInputsAreOurs(
  stored: KubernetesObject | undefined,
  owner: PackOwner,
): boolean {
  return !stored || ownershipOf(stored, owner).kind === 'ours';
}

/** A Secret the spec names: a key of it (the value is read), or a whole TLS Secret (no key). */
export interface SecretReference {
  field: string;
  name: string;
  key?: string;
}

/**
 * The Secrets a spec references, by field: connector secrets and upstream CAs (of every
 * connector type, connectorSecretRefs), static clients' secrets, static users' passwords (keyed: their values are read), and
 * Ingress TLS Secrets (whole: the Ingress controller reads them, the pack does not).
 */
export function secretReferences(spec: PackSpec): SecretReference[] {
  const refs: SecretReference[] = [];
  spec.connectors.forEach((c, i) => {
    const { credential, rootCA } = connectorSecretRefs(c);
    for (const r of [credential, rootCA])
      if (r) refs.push({ field: `connectors[${i}].${r.field}`, ...r.ref });
  });
  spec.staticClients.forEach(
    (c, i) =>
      c.secretRef &&
      refs.push({ field: `staticClients[${i}].secretRef`, ...c.secretRef }),
  );
  spec.staticUsers.forEach(
    (u, i) =>
      u.passwordRef &&
      refs.push({ field: `staticUsers[${i}].passwordRef`, ...u.passwordRef }),
  );
  for (const [field, ing] of [
    ['dex.exposure.ingress.tlsSecretName', spec.dex.exposure.ingress],
    [
      'authenticator.exposure.ingress.tlsSecretName',
      spec.authenticator.enabled
        ? spec.authenticator.exposure.ingress
        : undefined,
    ],
  ] as const) {
    if (ing?.enabled && ing.tlsSecretName)
      refs.push({ field, name: ing.tlsSecretName });
  }
  return refs;
}

export interface ReferenceContext {
  /** The referenced Secrets as read from the pack's namespace (absent: not found). */
  secrets: Map<string, V1Secret | undefined>;
  /** The values of the installation's own Secret of secret inputs: stored, with this run's given over them. */
  secretInputs: Record<string, string>;
  /**
   * Whether that Secret is the installation's: absent, or made by it, or being taken over
   * (force). A Secret of that name made by someone else is not read.
   */
  secretInputsOurs: boolean;
  policy: PlatformPolicy;
}

/**
 * The values of the keyed references, or every problem with them: a Secret that is missing or
 * lacks the key, or one the pack may not read. A spec may read only the installation's own Secret
 * of secret inputs (made by this installation, or given in this run) and Secrets the platform
 * marked usable with its label: any other Secret in the namespace (a service's database password,
 * another team's token) could otherwise be sent by Dex to a host the spec's author chose.
 */
export function resolveReferences(
  spec: PackSpec,
  refs: SecretReference[],
  context: ReferenceContext,
): { values: ReferencedValues; missing: string[]; refused: string[] } {
  const inputsName = objectNames(spec).secretInputs;
  const label = context.policy.usableSecretLabel ?? DEFAULT_USABLE_SECRET_LABEL;
  const values: ReferencedValues = {};
  const missing: string[] = [];
  const refused: string[] = [];
  const at = (name: string) => `Secret ${spec.namespace}/${name}`;
  for (const r of refs) {
    if (r.key && r.name === inputsName) {
      const value = context.secretInputs[r.key];
      if (!context.secretInputsOurs)
        refused.push(
          `- ${r.field}: ${at(r.name)} was not made by this installation; ask its owner, or take the installation over (force)`,
        );
      else if (value === undefined)
        missing.push(
          `- ${r.field}: the secret input "${r.key}" was not given (secretInputs.${r.key}) and is not stored in ${at(r.name)}; give it in the form`,
        );
      else values[refKey({ name: r.name, key: r.key })] = value;
      continue;
    }
    const s = context.secrets.get(r.name);
    // A TLS Secret reference (no key) needs the Secret only: its contents stay with the Ingress controller.
    if (!r.key) {
      if (!s)
        missing.push(
          `- ${r.field}: ${at(r.name)} does not exist; create it first`,
        );
      continue;
    }
    if (!s) {
      missing.push(
        `- ${r.field}: ${at(r.name)} has no key "${r.key}" (the Secret does not exist); create it first, or give the value in the form`,
      );
      continue;
    }
    if (s.metadata?.labels?.[label.key] !== label.value) {
      refused.push(
        `- ${r.field}: ${at(r.name)} is not one the platform marked usable by Dex packs (label ${label.key}=${label.value}) and was not made by this installation: give the value in the form instead (the pack stores it in ${at(inputsName)}), or ask the platform team to label the Secret`,
      );
      continue;
    }
    const raw = s.data?.[r.key];
    if (raw === undefined)
      missing.push(
        `- ${r.field}: ${at(r.name)} has no key "${r.key}"; create it first`,
      );
    else
      values[refKey({ name: r.name, key: r.key })] = Buffer.from(
        raw,
        'base64',
      ).toString('utf8');
  }
  return { values, missing, refused };
}

/** A key inside a Secret, as Kubernetes accepts it. */
const SECRET_KEY = /^[-._a-zA-Z0-9]{1,253}$/;

/**
 * Secret inputs as given to provisionPack: keys Kubernetes accepts, non-empty values under 64 KiB.
 * Messages name keys only, never values.
 */
export function checkSecretInputs(inputs: Record<string, string> | undefined) {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(inputs ?? {})) {
    if (!SECRET_KEY.test(key))
      problems.push(
        `- secretInputs: "${key.slice(0, 60)}" is not a Secret key; use letters, digits, '-', '_' or '.'`,
      );
    else if (typeof value !== 'string' || value === '')
      problems.push(
        `- secretInputs.${key}: give a value, or leave the key out`,
      );
    else if (Buffer.byteLength(value) > 64 * 1024)
      problems.push(`- secretInputs.${key}: is larger than 64 KiB; shorten it`);
  }
  if (problems.length)
    throw new InputError(
      `The secret inputs have problems (nothing was applied):\n${problems.join('\n')}`,
    );
}
