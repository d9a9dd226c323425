import { useApi } from '@backstage/core-plugin-api';
import type { FieldExtensionComponentProps } from '@backstage/plugin-scaffolder-react';
import useAsync from 'react-use/esm/useAsync';
import { dexApiRef } from '../../api';
import { DexSelectField } from '../DexSelectField';

/**
 * Scaffolder field: one of the clusters the dex backend knows (GET /api/dex/clusters),
 * preselecting the configured default, or the only cluster.
 *
 * @public
 */
export function DexClusterPicker(props: FieldExtensionComponentProps<string>) {
  const {
    formData,
    onChange,
    schema,
    idSchema,
    required,
    disabled,
    rawErrors,
  } = props;
  const dexApi = useApi(dexApiRef);
  const { value, loading, error } = useAsync(
    () => dexApi.getClusters(),
    [dexApi],
  );
  const names = value?.clusters.map(c => c.name) ?? [];
  // The platform's default when it is offered, else the only cluster there is.
  let preselect: string | undefined;
  if (value?.default && names.includes(value.default))
    preselect = value.default;
  else if (names.length === 1) preselect = names[0];

  return (
    <DexSelectField
      id={idSchema?.$id ?? 'dex-cluster-picker'}
      label={schema?.title ?? 'Cluster'}
      description={schema?.description}
      options={names}
      preselect={preselect}
      value={formData}
      onChange={onChange}
      loading={loading}
      error={error}
      required={required}
      disabled={disabled}
      rawErrors={rawErrors}
    />
  );
}
