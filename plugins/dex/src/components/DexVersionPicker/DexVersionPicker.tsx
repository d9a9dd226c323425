import { useApi } from '@backstage/core-plugin-api';
import type {
  CustomFieldValidator,
  FieldExtensionComponentProps,
} from '@backstage/plugin-scaffolder-react';
import useAsync from 'react-use/esm/useAsync';
import { dexApiRef } from '../../api';
import { DexSelectField } from '../DexSelectField';

/**
 * `ui:options` of the DexVersionPicker field.
 *
 * @public
 */
export interface DexVersionPickerUiOptions {
  /** Whose versions to offer: Dex (default) or dex-k8s-authenticator. */
  component?: 'dex' | 'authenticator';
}

const LABELS = {
  dex: 'Dex version',
  authenticator: 'Authenticator version',
};

/**
 * Scaffolder field: one of the versions the platform allows (GET /api/dex/versions),
 * with the platform default preselected.
 *
 * @public
 */
export function DexVersionPicker(
  props: FieldExtensionComponentProps<string, DexVersionPickerUiOptions>,
) {
  const {
    formData,
    onChange,
    schema,
    uiSchema,
    idSchema,
    required,
    disabled,
    rawErrors,
  } = props;
  const component = uiSchema?.['ui:options']?.component ?? 'dex';
  const dexApi = useApi(dexApiRef);
  const { value, loading, error } = useAsync(
    () => dexApi.getVersions(),
    [dexApi],
  );
  const versions = value?.[component];
  return (
    <DexSelectField
      id={idSchema?.$id ?? 'dex-version-picker'}
      label={schema?.title ?? LABELS[component]}
      description={schema?.description}
      options={versions?.allowed ?? []}
      preselect={versions?.default}
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

/**
 * Checks the picked version is a version number (e.g. 2.45.1); the backend checks
 * it is allowed.
 *
 * @public
 */
export const dexVersionPickerValidation: CustomFieldValidator<
  string,
  DexVersionPickerUiOptions
> = (value, validation) => {
  if (value && !/^v?\d+\.\d+\.\d+$/.test(value)) {
    validation.addError(`"${value}" is not a version like 2.45.1`);
  }
};
