import type {
  CustomFieldValidator,
  FieldExtensionComponentProps,
} from '@backstage/plugin-scaffolder-react';
import { DexApiSelectField } from '../DexApiSelectField';

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
  const component = props.uiSchema?.['ui:options']?.component ?? 'dex';
  return (
    <DexApiSelectField
      field={props}
      load={dexApi => dexApi.getVersions()}
      pick={versions => ({
        options: versions?.[component]?.allowed ?? [],
        preselect: versions?.[component]?.default,
      })}
      label={LABELS[component]}
      id="dex-version-picker"
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
