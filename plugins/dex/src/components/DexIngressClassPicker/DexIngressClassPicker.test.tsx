import { waitFor } from '@testing-library/react';
import type { DexExposureResponse } from '@backstage-dex/plugin-dex-common';
import { fakeDexApi } from '../../__testUtils__/dexApi';
import {
  optionNames,
  renderPickerField,
  selectButton,
} from '../../__testUtils__/pickerField';
import { DexIngressClassPicker } from './DexIngressClassPicker';

// Backstage UI's Select renders slowly on a busy machine.
jest.setTimeout(30_000);

describe('DexIngressClassPicker', () => {
  it('lists the Ingress classes the platform allows and preselects its default', async () => {
    const onChange = jest.fn();
    await renderPickerField(DexIngressClassPicker, {
      dexApi: fakeDexApi({
        getExposure: jest.fn(async (): Promise<DexExposureResponse> => ({
          ingressClasses: ['nginx', 'traefik'],
          defaultIngressClass: 'traefik',
          serviceTypes: ['ClusterIP', 'LoadBalancer'],
          defaultServiceType: 'ClusterIP',
        })),
      }),
      onChange,
      title: 'Ingress class',
      uiField: 'DexIngressClassPicker',
    });

    await waitFor(async () =>
      expect(await selectButton(/Ingress class/)).toHaveTextContent('traefik'),
    );
    expect(onChange).toHaveBeenCalledWith('traefik');
    expect(await optionNames(/Ingress class/)).toEqual(['nginx', 'traefik']);
  });
});
