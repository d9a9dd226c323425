import crypto from 'node:crypto';
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { InputError } from '@backstage/errors';
import {
  PackSpec,
  PackSpecInput,
  PlatformPolicy,
  formatProblems,
  resolveSpec,
} from '@backstage-dex/plugin-dex-common';
import { z } from 'zod/v3';

/** The owning entity, beside the spec in both actions' input. */
export const ownerField = {
  entityRef: z
    .string({
      description:
        'The catalog entity that owns the installation (e.g. component:default/payments-api); its name becomes the backstage.io/kubernetes-id label when kubernetesId is absent',
    })
    .optional(),
};

/** The owning entity's ref (normalised) and name, when the input names one. */
export function ownerOf(
  entityRef: string | undefined,
): { entityRef: string; name: string } | undefined {
  if (!entityRef) return undefined;
  try {
    const parsed = parseEntityRef(entityRef, {
      defaultKind: 'component',
      defaultNamespace: 'default',
    });
    return { entityRef: stringifyEntityRef(parsed), name: parsed.name };
  } catch (e) {
    throw new InputError(
      `entityRef "${entityRef}" is not an entity reference; write it as kind:namespace/name (${(e as Error).message})`,
    );
  }
}

/** The actions' own fields beside the spec's. */
const ACTION_FIELDS = [
  'entityRef',
  'force',
  'rotateCertificates',
  'secretInputs',
  'waitForRollout',
  'targetPath',
];

/**
 * The spec part of an action's input (everything but the action's own fields, so unknown fields
 * reach the schema), with the owner's name as the kubernetes-id when none is given; defaults from
 * the platform policy, then every problem at once as one InputError.
 */
export function resolvePackSpec(
  input: Record<string, unknown> & { entityRef?: string },
  policy: PlatformPolicy,
): PackSpec {
  const spec: Record<string, unknown> = Object.fromEntries(
    Object.entries(input).filter(([k]) => !ACTION_FIELDS.includes(k)),
  );
  const owner = ownerOf(input.entityRef);
  if (owner && (spec.kubernetesId === undefined || spec.kubernetesId === ''))
    spec.kubernetesId = owner.name;
  const { spec: resolved, problems } = resolveSpec(
    spec as PackSpecInput,
    policy,
  );
  if (problems.length) throw new InputError(formatProblems(problems));
  return resolved;
}

/** A short, stable digest of a JSON value (for checkpoint keys). */
export function digest(value: unknown): string {
  return crypto
    .createHash('sha256')
    .update(JSON.stringify(value))
    .digest('hex')
    .slice(0, 16);
}
