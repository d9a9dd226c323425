import type { FieldExtensionComponentProps } from '@backstage/plugin-scaffolder-react';
import type { DexExposureResponse } from '@backstage-dex/plugin-dex-common';
import { type DexApiChoices, DexApiSelectField } from '../DexApiSelectField';

function ingressClassChoices(exposure?: DexExposureResponse): DexApiChoices {
  return {
    options: exposure?.ingressClasses ?? [],
    preselect: exposure?.defaultIngressClass,
  };
}

/**
 * Scaffolder field: one of the Ingress classes the platform allows (GET /api/dex/exposure), its
 * default preselected.
 *
 * @public
 */
export function DexIngressClassPicker(
  props: FieldExtensionComponentProps<string>,
) {
  return (
    <DexApiSelectField
      field={props}
      load={dexApi => dexApi.getExposure()}
      pick={ingressClassChoices}
      label="Ingress class"
      id="dex-ingress-class-picker"
    />
  );
}
