import { useEffect } from 'react';
import { useParams } from 'react-router-dom';
import { useApi } from '@backstage/core-plugin-api';
import { Progress } from '@backstage/core-components';
import { catalogApiRef } from '@backstage/plugin-catalog-react';
import {
  type FieldExtensionComponentProps,
  type ScaffolderApi,
  scaffolderApiRef,
  useTemplateSecrets,
} from '@backstage/plugin-scaffolder-react';
import { Flex, Text } from '@backstage/ui';
import useAsync from 'react-use/esm/useAsync';
import type { PackPlan } from '@backstage-dex/plugin-dex-common';

/**
 * The plan `dex:pack:apply` outputs (its `plan` output), as the template's output passes it on.
 *
 * @public
 */
export type DexPlanValue = PackPlan;

type DryRunRequest = Parameters<ScaffolderApi['dryRun']>[0];

function isPlan(value: unknown): value is DexPlanValue {
  const v = value as DexPlanValue | undefined;
  return Boolean(v && typeof v.summary === 'string' && Array.isArray(v.create));
}

function Section(props: { title: string; items: string[] }) {
  if (!props.items.length) return null;
  return (
    <Flex direction="column" gap="1">
      <Text variant="body-small" weight="bold">
        {props.title} ({props.items.length})
      </Text>
      <ul aria-label={props.title}>
        {props.items.map(item => (
          <li key={item}>
            <Text variant="body-small">{item}</Text>
          </li>
        ))}
      </ul>
    </Flex>
  );
}

/**
 * Scaffolder field: the dry-run plan of the form as filled in so far. It runs this template
 * through the scaffolder's dry run (POST /api/scaffolder/v2/dry-run: the real steps, with
 * `dex:pack:apply` in dry-run mode, nothing applied) and shows the `plan` of the template's
 * output: objects to create, change (with the fields) and leave unchanged. Its value is the
 * plan's one-line summary, so the review step shows it beside the other answers.
 *
 * @public
 */
export function DexPlan(props: FieldExtensionComponentProps<string>) {
  const { onChange, formContext, formData, idSchema } = props;
  const { namespace, templateName } = useParams();
  const scaffolderApi = useApi(scaffolderApiRef);
  const catalogApi = useApi(catalogApiRef);
  const { secrets } = useTemplateSecrets();
  const values = { ...(formContext?.formData ?? {}) } as Record<
    string,
    unknown
  >;
  delete values.plan;
  const key = JSON.stringify(values);

  const { value, loading, error } = useAsync(async () => {
    if (!templateName)
      throw new Error('The plan is made on the template page only');
    const template = (await catalogApi.getEntityByRef({
      kind: 'Template',
      namespace: namespace ?? 'default',
      name: templateName,
    })) as DryRunRequest['template'] | undefined;
    if (!template) throw new Error(`Template ${templateName} not found`);
    const result = await scaffolderApi.dryRun({
      template,
      values: JSON.parse(key),
      secrets,
      directoryContents: [],
    });
    const plan = (result.output as { plan?: unknown }).plan;
    if (!isPlan(plan)) {
      const last = result.log
        .map(l => l.body.message)
        .filter(Boolean)
        .pop();
      throw new Error(last ?? 'The dry run returned no plan');
    }
    return plan;
  }, [key, namespace, templateName]);

  // Only when it differs: the form re-renders (with a new onChange) after every change.
  useEffect(() => {
    if (value && formData !== value.summary) onChange(value.summary);
  }, [value, formData, onChange]);

  const id = idSchema?.$id ?? 'dex-plan';
  if (loading)
    return (
      <Flex direction="column" gap="1" my="2">
        <Text variant="body-small">
          Asking the cluster what the run would do (dry run)…
        </Text>
        <Progress />
      </Flex>
    );
  if (error || !value)
    return (
      <Text id={id} role="alert" variant="body-small" color="danger">
        No plan: {error?.message ?? 'the dry run gave none'}. Go back and change
        what it names, or create the installation to see the same error in the
        task log.
      </Text>
    );
  return (
    <Flex id={id} direction="column" gap="2" my="2">
      <Text variant="body-medium" weight="bold">
        Dry run: {value.summary}. Nothing has been applied yet.
      </Text>
      <Section title="To create" items={value.create} />
      <Section
        title="To change"
        items={value.change.map(
          c =>
            `${c.object}${c.fields.length ? ` (${c.fields.join(', ')})` : ''}`,
        )}
      />
      <Section title="Unchanged" items={value.unchanged} />
      <Section title="Left as they are" items={value.leftAsIs} />
      {value.pendingLoadBalancers.length > 0 && (
        <Text variant="body-small">
          The URLs of {value.pendingLoadBalancers.join(' and ')} come from the
          address the cloud assigns to the LoadBalancer: the run applies the
          Service first and waits for it.
        </Text>
      )}
    </Flex>
  );
}
