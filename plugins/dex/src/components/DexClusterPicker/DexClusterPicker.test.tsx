import { useState } from 'react';
import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
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
    getExposure: jest.fn(),
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

/** The select's button (Backstage UI's Select: no native select), named by its label and value. */
const trigger = () => screen.findByRole('button', { name: /Cluster/ });

async function optionNames() {
  await userEvent.click(await trigger());
  return (await screen.findAllByRole('option')).map(o => o.textContent);
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

    await waitFor(async () =>
      expect(await trigger()).toHaveTextContent('staging'),
    );
    expect(onChange).toHaveBeenCalledWith('staging');
    expect(await optionNames()).toEqual(['local', 'staging', 'prod']);
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
    expect(await optionNames()).toEqual(['staging', 'prod']);
    expect(onChange).not.toHaveBeenCalled();
  });
});
