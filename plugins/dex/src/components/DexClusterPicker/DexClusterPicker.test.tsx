import { waitFor } from '@testing-library/react';
import type { DexClustersResponse } from '@backstage-dex/plugin-dex-common';
import { fakeDexApi } from '../../__testUtils__/dexApi';
import {
  optionNames,
  renderPickerField,
  selectButton,
} from '../../__testUtils__/pickerField';
import { DexClusterPicker } from './DexClusterPicker';

async function renderField(clusters: DexClustersResponse, onChange: jest.Mock) {
  await renderPickerField(DexClusterPicker, {
    dexApi: fakeDexApi({ getClusters: jest.fn(async () => clusters) }),
    onChange,
    title: 'Cluster',
    uiField: 'DexClusterPicker',
  });
}

const trigger = () => selectButton(/Cluster/);

describe('DexClusterPicker', () => {
  it('lists the clusters and preselects the default', async () => {
    const onChange = jest.fn();
    await renderField(
      {
        clusters: [{ name: 'local' }, { name: 'staging' }, { name: 'prod' }],
        default: 'staging',
      },
      onChange,
    );

    await waitFor(async () =>
      expect(await trigger()).toHaveTextContent('staging'),
    );
    expect(onChange).toHaveBeenCalledWith('staging');
    expect(await optionNames(/Cluster/)).toEqual(['local', 'staging', 'prod']);
  });

  it('preselects the only cluster when there is no default', async () => {
    const onChange = jest.fn();
    await renderField({ clusters: [{ name: 'local' }] }, onChange);

    await waitFor(async () =>
      expect(await trigger()).toHaveTextContent('local'),
    );
    expect(onChange).toHaveBeenCalledWith('local');
  });

  it('leaves the choice to the user among several clusters and no default', async () => {
    const onChange = jest.fn();
    await renderField(
      { clusters: [{ name: 'staging' }, { name: 'prod' }] },
      onChange,
    );

    expect(await trigger()).toHaveTextContent('Select…');
    expect(await optionNames(/Cluster/)).toEqual(['staging', 'prod']);
    expect(onChange).not.toHaveBeenCalled();
  });
});
