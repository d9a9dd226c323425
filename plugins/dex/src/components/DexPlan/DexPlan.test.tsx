import { screen } from '@testing-library/react';
import { Route, Routes } from 'react-router-dom';
import { renderInTestApp, TestApiProvider } from '@backstage/test-utils';
import { catalogApiRef } from '@backstage/plugin-catalog-react';
import {
  type FieldExtensionComponentProps,
  SecretsContextProvider,
  scaffolderApiRef,
} from '@backstage/plugin-scaffolder-react';
import { DexPlan, type DexPlanValue } from './DexPlan';

const TEMPLATE = {
  apiVersion: 'scaffolder.backstage.io/v1beta3',
  kind: 'Template',
  metadata: { name: 'add-dex-auth', namespace: 'default' },
  spec: { steps: [] },
};

const PLAN: DexPlanValue = {
  dryRun: true,
  summary: '2 to create, 1 to change, 1 unchanged',
  create: ['Service team-b/dex', 'Deployment team-b/dex'],
  change: [{ object: 'ConfigMap team-b/dex-authenticator', fields: ['data'] }],
  unchanged: ['Secret team-b/dex-ca'],
  leftAsIs: [],
  pendingLoadBalancers: ['team-b/dex'],
};

async function renderPlan(dryRun: jest.Mock, onChange = jest.fn()) {
  const catalogApi = {
    getEntityByRef: jest.fn(async () => TEMPLATE),
  };
  const props = {
    onChange,
    idSchema: { $id: 'root_plan' },
    schema: { type: 'string', title: 'Plan' },
    uiSchema: { 'ui:field': 'DexPlan' },
    formContext: {
      formData: { cluster: 'local', namespace: 'team-b', plan: 'stale' },
    },
  } as unknown as FieldExtensionComponentProps<string>;
  await renderInTestApp(
    <TestApiProvider
      apis={[
        [scaffolderApiRef, { dryRun }],
        [catalogApiRef, catalogApi],
      ]}
    >
      <SecretsContextProvider>
        <Routes>
          <Route
            path="/create/templates/:namespace/:templateName"
            element={<DexPlan {...props} />}
          />
        </Routes>
      </SecretsContextProvider>
    </TestApiProvider>,
    { routeEntries: ['/create/templates/default/add-dex-auth'] },
  );
  return { catalogApi, onChange };
}

describe('DexPlan', () => {
  it("dry-runs this template with the form's values and shows what would be created, changed and left unchanged", async () => {
    const dryRun = jest.fn(async () => ({
      output: { plan: PLAN },
      log: [],
      steps: [],
      directoryContents: [],
    }));
    const { catalogApi, onChange } = await renderPlan(dryRun);

    expect(
      await screen.findByText(
        'Dry run: 2 to create, 1 to change, 1 unchanged. Nothing has been applied yet.',
      ),
    ).toBeInTheDocument();
    expect(catalogApi.getEntityByRef).toHaveBeenCalledWith({
      kind: 'Template',
      namespace: 'default',
      name: 'add-dex-auth',
    });
    // The form's values, without the plan field itself, and the template as the catalog has it.
    expect(dryRun).toHaveBeenCalledWith(
      expect.objectContaining({
        template: TEMPLATE,
        values: { cluster: 'local', namespace: 'team-b' },
        directoryContents: [],
      }),
    );
    expect(
      screen.getByRole('list', { name: 'To create' }).textContent,
    ).toContain('Deployment team-b/dex');
    expect(
      screen.getByRole('list', { name: 'To change' }).textContent,
    ).toContain('ConfigMap team-b/dex-authenticator (data)');
    expect(
      screen.getByRole('list', { name: 'Unchanged' }).textContent,
    ).toContain('Secret team-b/dex-ca');
    expect(screen.getByText(/The URLs of team-b\/dex come from/)).toBeVisible();
    // The summary is the field's value: the review step shows it.
    expect(onChange).toHaveBeenCalledWith(PLAN.summary);
  });

  it('says why there is no plan when the dry run fails', async () => {
    const dryRun = jest.fn(async () => {
      throw new Error(
        'The Dex pack spec has 1 problem: dex.version 2.21.0 is not allowed',
      );
    });
    const { onChange } = await renderPlan(dryRun);
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'No plan: The Dex pack spec has 1 problem: dex.version 2.21.0 is not allowed.',
    );
    expect(onChange).not.toHaveBeenCalled();
  });
});
