import { useState } from 'react';
import { screen, waitFor } from '@testing-library/react';
import { renderInTestApp, TestApiProvider } from '@backstage/test-utils';
import type { FieldExtensionComponentProps } from '@backstage/plugin-scaffolder-react';
import type { DexClustersResponse } from '@backstage-dex/plugin-dex-common';
import { type DexApi, dexApiRef } from '../../api';
import { DexClusterPicker } from './DexClusterPicker';

function api(clusters: DexClustersResponse): DexApi {
  return {
    getStatus: jest.fn(),
    getVersions: jest.fn(),
    getKubeconfig: jest.fn(),
    getClusters: jest.fn(async () => clusters),
  };
}

function Field(props: { onChange: jest.Mock }) {
  const [value, setValue] = useState<string | undefined>();
  const fieldProps = {
    formData: value,
    onChange: (v: string | undefined) => {
      props.onChange(v);
      setValue(v);
    },
    schema: { type: 'string', title: 'Cluster' },
    uiSchema: { 'ui:field': 'DexClusterPicker' },
    idSchema: { $id: 'root_cluster' },
    rawErrors: [],
  } as unknown as FieldExtensionComponentProps<string>;
  return <DexClusterPicker {...fieldProps} />;
}

async function renderField(clusters: DexClustersResponse, onChange: jest.Mock) {
  await renderInTestApp(
    <TestApiProvider apis={[[dexApiRef, api(clusters)]]}>
      <Field onChange={onChange} />
    </TestApiProvider>,
  );
}

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

    const select = await screen.findByLabelText('Cluster');
    expect(screen.getAllByRole('option').map(o => o.textContent)).toEqual([
      'local',
      'staging',
      'prod',
    ]);
    await waitFor(() => expect(select).toHaveValue('staging'));
    expect(onChange).toHaveBeenCalledWith('staging');
  });

  it('preselects the only cluster when there is no default', async () => {
    const onChange = jest.fn();
    await renderField({ clusters: [{ name: 'local' }] }, onChange);

    const select = await screen.findByLabelText('Cluster');
    await waitFor(() => expect(select).toHaveValue('local'));
    expect(onChange).toHaveBeenCalledWith('local');
  });

  it('leaves the choice to the user among several clusters and no default', async () => {
    const onChange = jest.fn();
    await renderField(
      { clusters: [{ name: 'staging' }, { name: 'prod' }] },
      onChange,
    );

    const select = await screen.findByLabelText('Cluster');
    expect(select).toHaveValue('');
    expect(screen.getByRole('option', { name: 'Select…' })).toBeInTheDocument();
    expect(screen.getByRole('option', { name: 'prod' })).toBeInTheDocument();
    expect(onChange).not.toHaveBeenCalled();
  });
});
