import { screen, within } from '@testing-library/react';
import { renderInTestApp, TestApiProvider } from '@backstage/test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import type { Entity } from '@backstage/catalog-model';
import { ResponseError } from '@backstage/errors';
import type {
  ComponentStatus,
  DexInstallation,
  DexStatusResponse,
} from '@backstage-dex/plugin-dex-common';
import { type DexApi, dexApiRef } from '../../api';
import { EntityDexCard } from './EntityDexCard';

const entity: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'payments',
    namespace: 'default',
    annotations: { 'backstage.io/kubernetes-id': 'payments' },
  },
  spec: { type: 'service', owner: 'team-a', lifecycle: 'production' },
};

function component(overrides: Partial<ComponentStatus> = {}): ComponentStatus {
  return {
    name: 'dex',
    version: '2.45.1',
    image: 'ghcr.io/dexidp/dex:v2.45.1',
    defaultVersion: '2.45.1',
    updateAvailable: false,
    serviceType: 'ClusterIP',
    endpoints: [
      { kind: 'ingress', url: 'https://dex.example.com', ready: true },
    ],
    ingress: {
      name: 'payments-dex',
      className: 'nginx',
      hosts: ['dex.example.com'],
      tls: true,
      addresses: ['10.0.0.10'],
      state: 'ready',
    },
    replicas: { desired: 2, ready: 2, updated: 2 },
    health: 'healthy',
    ...overrides,
  };
}

function installation(
  overrides: Partial<DexInstallation> = {},
): DexInstallation {
  return {
    cluster: 'local',
    namespace: 'dex',
    instance: 'payments',
    issuerUrl: 'https://dex.example.com',
    dex: component(),
    authenticator: component({
      name: 'dex-k8s-authenticator',
      version: '1.4.0',
      defaultVersion: '1.4.0',
      endpoints: [
        { kind: 'ingress', url: 'https://login.example.com', ready: true },
      ],
      ingress: {
        name: 'payments-authenticator',
        className: 'nginx',
        hosts: ['login.example.com'],
        tls: true,
        addresses: ['10.0.0.10'],
        state: 'ready',
      },
      replicas: { desired: 1, ready: 1, updated: 1 },
    }),
    certificates: [
      {
        name: 'payments-ca',
        subject: 'CN=payments-ca',
        notAfter: '2035-01-01T00:00:00Z',
        daysLeft: 3000,
      },
    ],
    apiServer: {
      issuerUrl: 'https://dex.example.com',
      clientId: 'kubernetes',
      flags: [
        '--oidc-issuer-url=https://dex.example.com',
        '--oidc-client-id=kubernetes',
      ],
      authenticationConfiguration:
        'apiVersion: apiserver.config.k8s.io/v1\nkind: AuthenticationConfiguration\n',
    },
    ...overrides,
  };
}

function response(
  overrides: Partial<DexStatusResponse> = {},
): DexStatusResponse {
  return {
    entityRef: 'component:default/payments',
    installations: [installation()],
    errors: [],
    ...overrides,
  };
}

function mockApi(getStatus: DexApi['getStatus']): DexApi {
  return {
    getStatus: jest.fn(getStatus),
    getVersions: jest.fn(),
    getClusters: jest.fn(),
  };
}

async function renderCard(api: DexApi, forEntity: Entity = entity) {
  return renderInTestApp(
    <TestApiProvider apis={[[dexApiRef, api]]}>
      <EntityProvider entity={forEntity}>
        <EntityDexCard />
      </EntityProvider>
    </TestApiProvider>,
  );
}

describe('EntityDexCard', () => {
  it('shows a ready installation: endpoints, versions, Ingress, readiness, flags', async () => {
    const api = mockApi(async () => response());
    await renderCard(api);

    expect(await screen.findByText('Dex authentication')).toBeInTheDocument();
    expect(api.getStatus).toHaveBeenCalledWith('component:default/payments');
    expect(
      screen.getByText('Cluster local · namespace dex · instance payments'),
    ).toBeInTheDocument();

    const dexLinks = screen.getAllByRole('link', {
      name: /https:\/\/dex\.example\.com/,
    });
    expect(dexLinks[0]).toHaveAttribute('href', 'https://dex.example.com');
    const login = screen.getByRole('link', {
      name: /https:\/\/login\.example\.com/,
    });
    expect(login).toHaveAttribute('href', 'https://login.example.com');

    const dex = screen.getByRole('region', { name: 'Dex' });
    expect(within(dex).getByText('2.45.1')).toBeInTheDocument();
    expect(within(dex).getByText('(Ingress)')).toBeInTheDocument();
    expect(within(dex).getByText('Ingress payments-dex')).toBeInTheDocument();
    expect(within(dex).getByText('Class: nginx')).toBeInTheDocument();
    expect(within(dex).getByText('Hosts: dex.example.com')).toBeInTheDocument();
    expect(within(dex).getByText('TLS: yes')).toBeInTheDocument();
    expect(within(dex).getByText('Addresses: 10.0.0.10')).toBeInTheDocument();
    expect(within(dex).getByText('2/2 ready (healthy)')).toBeInTheDocument();
    expect(within(dex).queryByText('pending')).not.toBeInTheDocument();
    expect(within(dex).queryByText(/update available/)).not.toBeInTheDocument();

    const authenticator = screen.getByRole('region', {
      name: 'Authenticator (dex-k8s-authenticator)',
    });
    expect(within(authenticator).getByText('1.4.0')).toBeInTheDocument();
    expect(
      within(authenticator).getByText('1/1 ready (healthy)'),
    ).toBeInTheDocument();

    expect(
      screen.getByText(/payments-ca: expires in 3000 days/),
    ).toBeInTheDocument();
    expect(
      screen.getByText(
        '--oidc-issuer-url=https://dex.example.com --oidc-client-id=kubernetes',
        { normalizer: s => s.replace(/\s+/g, ' ').trim() },
      ),
    ).toBeInTheDocument();
    expect(
      screen.getByRole('button', { name: 'Copy API-server flags' }),
    ).toBeInTheDocument();
    expect(screen.getByText('AuthenticationConfiguration')).toBeInTheDocument();
    expect(
      screen.getByRole('button', { name: 'Copy AuthenticationConfiguration' }),
    ).toBeInTheDocument();
  });

  it('shows a pending Ingress and its endpoint as pending', async () => {
    const dex = component({
      endpoints: [
        { kind: 'ingress', url: 'https://dex.example.com', ready: false },
      ],
      ingress: {
        name: 'payments-dex',
        className: 'nginx',
        hosts: ['dex.example.com'],
        tls: false,
        addresses: [],
        state: 'pending',
      },
      replicas: { desired: 2, ready: 1, updated: 2 },
      health: 'progressing',
    });
    await renderCard(
      mockApi(async () =>
        response({
          installations: [installation({ dex, authenticator: undefined })],
        }),
      ),
    );

    const region = await screen.findByRole('region', { name: 'Dex' });
    // Endpoint and Ingress both say "pending".
    expect(within(region).getAllByText('pending')).toHaveLength(2);
    expect(within(region).getByText('Addresses: pending')).toBeInTheDocument();
    expect(within(region).getByText('TLS: no')).toBeInTheDocument();
    expect(within(region).getByText('1/2 ready (progressing)')).toHaveAttribute(
      'aria-label',
      'Status warning',
    );
    expect(
      screen.queryByRole('region', {
        name: 'Authenticator (dex-k8s-authenticator)',
      }),
    ).not.toBeInTheDocument();
  });

  it('flags an available update with the default version', async () => {
    const dex = component({
      version: '2.35.1',
      defaultVersion: '2.45.1',
      updateAvailable: true,
    });
    await renderCard(
      mockApi(async () => response({ installations: [installation({ dex })] })),
    );

    const region = await screen.findByRole('region', { name: 'Dex' });
    expect(within(region).getByText('2.35.1')).toBeInTheDocument();
    expect(
      within(region).getByText('update available (2.45.1)'),
    ).toBeInTheDocument();
  });

  it('warns about a certificate expiring within 30 days, and errors on an expired one', async () => {
    await renderCard(
      mockApi(async () =>
        response({
          installations: [
            installation({
              certificates: [
                {
                  name: 'payments-serving',
                  subject: 'CN=dex.example.com',
                  notAfter: '2025-01-12T00:00:00Z',
                  daysLeft: 12,
                },
                {
                  name: 'payments-ca',
                  subject: 'CN=payments-ca',
                  notAfter: '2024-12-29T00:00:00Z',
                  daysLeft: -2,
                },
              ],
            }),
          ],
        }),
      ),
    );

    const expiring = await screen.findByText(
      'payments-serving: expires in 12 days (2025-01-12T00:00:00Z)',
    );
    expect(expiring).toHaveAttribute('aria-label', 'Status warning');
    const expired = screen.getByText(
      'payments-ca: expired 2 days ago (2024-12-29T00:00:00Z)',
    );
    expect(expired).toHaveAttribute('aria-label', 'Status error');
  });

  it('shows the error when the status cannot be read', async () => {
    const error = await ResponseError.fromResponse(
      new Response(
        JSON.stringify({
          error: {
            name: 'NotAllowedError',
            message: 'not allowed to read dex',
          },
          request: { method: 'GET', url: '/api/dex/status' },
          response: { statusCode: 403 },
        }),
        {
          status: 403,
          statusText: 'Forbidden',
          headers: { 'content-type': 'application/json' },
        },
      ),
    );
    await renderCard(
      mockApi(async () => {
        throw error;
      }),
    );

    expect(
      await screen.findByText(/Request failed with 403 Forbidden/),
    ).toBeInTheDocument();
    expect(screen.getByText('not allowed to read dex')).toBeInTheDocument();
  });

  it('shows progress while loading', async () => {
    await renderCard(mockApi(() => new Promise(() => {})));

    expect(await screen.findByTestId('progress')).toBeInTheDocument();
  });

  it('asks for the annotation when the entity has none', async () => {
    const api = mockApi(async () => response());
    await renderCard(api, {
      ...entity,
      metadata: { name: 'payments', namespace: 'default' },
    });

    expect(await screen.findByText(/Missing Annotation/i)).toBeInTheDocument();
    expect(
      screen.getAllByText('backstage.io/kubernetes-id', { exact: false })[0],
    ).toBeInTheDocument();
    expect(api.getStatus).not.toHaveBeenCalled();
  });

  it('accepts the clusters annotation alone', async () => {
    const api = mockApi(async () => response());
    await renderCard(api, {
      ...entity,
      metadata: {
        name: 'payments',
        annotations: { 'dex.backstage.io/clusters': 'local' },
      },
    });

    expect(await screen.findByText('2/2 ready (healthy)')).toBeInTheDocument();
    expect(api.getStatus).toHaveBeenCalledWith('component:default/payments');
  });

  it('shows a cluster error next to the results of the other clusters', async () => {
    await renderCard(
      mockApi(async () =>
        response({
          errors: [{ cluster: 'prod', message: 'connect ECONNREFUSED' }],
        }),
      ),
    );

    expect(
      await screen.findByText(
        'Cluster prod could not be read: connect ECONNREFUSED',
      ),
    ).toBeInTheDocument();
    expect(
      screen.getByText('Cluster local · namespace dex · instance payments'),
    ).toBeInTheDocument();
  });

  it('explains how to add Dex when no installation is found', async () => {
    await renderCard(mockApi(async () => response({ installations: [] })));

    expect(
      await screen.findByText('No Dex installation found'),
    ).toBeInTheDocument();
    expect(
      screen.getByText(/No Dex installation was found for this entity/),
    ).toBeInTheDocument();
    expect(screen.getByText('Add Dex auth')).toBeInTheDocument();
  });
  it('says the API-server flags are to be set by hand in report mode', async () => {
    await renderCard(mockApi(async () => response()));
    const settings = await screen.findByRole('region', {
      name: 'API-server settings',
    });
    expect(
      within(settings).getByText(
        'To do by hand: give the kube-apiserver these flags',
      ),
    ).toBeInTheDocument();
  });

  it('shows the KubeadmControlPlane the settings went to, and its rollout', async () => {
    const kubeadmControlPlane = {
      managementCluster: 'management',
      namespace: 'capi-clusters',
      name: 'payments-control-plane',
      authentication: 'flags' as const,
      applied: true,
      rollout: { replicas: 3, updated: 1, observedLatestSpec: true },
    };
    await renderCard(
      mockApi(async () =>
        response({ installations: [installation({ kubeadmControlPlane })] }),
      ),
    );
    const settings = await screen.findByRole('region', {
      name: 'API-server settings',
    });
    expect(
      within(settings).getByText(
        'Applied to KubeadmControlPlane capi-clusters/payments-control-plane on cluster management — rollout 1/3 updated',
      ),
    ).toBeInTheDocument();
    expect(
      within(settings).queryByText(/To do by hand/),
    ).not.toBeInTheDocument();
  });

  it('says when the KubeadmControlPlane no longer carries the settings, or cannot be read', async () => {
    const base = {
      managementCluster: 'management',
      namespace: 'capi-clusters',
      name: 'payments-control-plane',
      authentication: 'flags' as const,
    };
    await renderCard(
      mockApi(async () =>
        response({
          installations: [
            installation({
              kubeadmControlPlane: {
                ...base,
                applied: false,
                rollout: { replicas: 3, updated: 3, observedLatestSpec: true },
              },
            }),
            installation({
              namespace: 'dex-2',
              kubeadmControlPlane: {
                ...base,
                error:
                  'The management cluster "management" did not answer within 5000 ms',
              },
            }),
          ],
        }),
      ),
    );
    expect(
      await screen.findByText(
        /^Not applied: KubeadmControlPlane capi-clusters\/payments-control-plane/,
      ),
    ).toBeInTheDocument();
    expect(
      screen.getByText(
        /rollout unknown: The management cluster "management" did not answer within 5000 ms/,
      ),
    ).toBeInTheDocument();
  });
});
