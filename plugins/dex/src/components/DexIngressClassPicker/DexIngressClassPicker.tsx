import { useApi } from '@backstage/core-plugin-api';
import type { FieldExtensionComponentProps } from '@backstage/plugin-scaffolder-react';
import useAsync from 'react-use/esm/useAsync';
import { dexApiRef } from '../../api';
import { DexSelectField } from '../DexSelectField';

/**
 * Scaffolder field: one of the Ingress classes the platform allows (GET /api/dex/exposure), its
 * default preselected.
 *
 * @public
 */
export function DexIngressClassPicker(
  props: FieldExtensionComponentProps<string>,
) {
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
    () => dexApi.getExposure(),
    [dexApi],
  );
  return (
    <DexSelectField
      id={idSchema?.$id ?? 'dex-ingress-class-picker'}
      label={schema?.title ?? 'Ingress class'}
      description={schema?.description}
      options={value?.ingressClasses ?? []}
      preselect={value?.defaultIngressClass}
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
