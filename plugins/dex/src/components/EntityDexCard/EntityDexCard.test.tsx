import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
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
import { fakeDexApi } from '../../__testUtils__/dexApi';
import { EntityDexCard } from './EntityDexCard';

// Role queries over the whole card (every installation's details) take seconds on a busy machine.
jest.setTimeout(30_000);

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

/** Dex 2.35.1 where the platform's default is 2.45.1. */
const outdatedDex = () =>
  component({
    version: '2.35.1',
    defaultVersion: '2.45.1',
    updateAvailable: true,
  });

/** Where a clusterApi-mode installation's settings went. */
const KUBEADM_CONTROL_PLANE = {
  managementCluster: 'management',
  namespace: 'capi-clusters',
  name: 'payments-control-plane',
  authentication: 'flags' as const,
};

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
  return fakeDexApi({ getStatus: jest.fn(getStatus) });
}

async function renderCard(
  api: DexApi,
  forEntity: Entity = entity,
  pollIntervalMs?: number,
) {
  return renderInTestApp(
    <TestApiProvider apis={[[dexApiRef, api]]}>
      <EntityProvider entity={forEntity}>
        <EntityDexCard pollIntervalMs={pollIntervalMs} />
      </EntityProvider>
    </TestApiProvider>,
  );
}

/** Renders the card for a status answer (and opens every installation's details). */
async function showCard(
  status: Partial<DexStatusResponse> = {},
  { details = false } = {},
) {
  const api = mockApi(async () => response(status));
  if (details) await renderDetails(api);
  else await renderCard(api);
  return api;
}

/** Renders the card and opens every installation's details. */
async function renderDetails(api: DexApi) {
  await renderCard(api);
  for (const button of await screen.findAllByRole('button', {
    name: 'Details',
  }))
    await userEvent.click(button);
}

/** The error DexClient throws for an error answer of the backend to GET `url`. */
function backendError(
  url: string,
  status: number,
  statusText: string,
  error: { name: string; message: string },
) {
  return ResponseError.fromResponse(
    new Response(
      JSON.stringify({
        error,
        request: { method: 'GET', url },
        response: { statusCode: status },
      }),
      { status, statusText, headers: { 'content-type': 'application/json' } },
    ),
  );
}

/** The form data of a link to the template. */
function formDataOf(href: string | null) {
  const url = new URL(href ?? '', 'http://localhost');
  expect(url.pathname).toBe('/create/templates/default/add-dex-auth');
  return JSON.parse(url.searchParams.get('formData') ?? 'null');
}

/** The form data of the card's "Upgrade to Dex 2.45.1" link. */
async function upgradeFormData() {
  const upgrade = await screen.findByRole('link', {
    name: 'Upgrade to Dex 2.45.1',
  });
  return formDataOf(upgrade.getAttribute('href'));
}

describe('EntityDexCard', () => {
  it('sums an installation up on one line, with Log in and Download kubeconfig, and no Upgrade when current', async () => {
    await showCard();
    const summary = await screen.findByRole('region', {
      name: 'Dex installation local/dex/payments',
    });
    expect(
      within(summary).getByRole('heading', { name: 'local/dex/payments' }),
    ).toBeInTheDocument();
    expect(
      within(summary).getByText('Dex 2.45.1 · authenticator 1.4.0'),
    ).toBeInTheDocument();
    expect(within(summary).getByText('Ready 3/3')).toBeInTheDocument();
    expect(within(summary).getByText('healthy')).toHaveAttribute(
      'aria-label',
      'Status ok',
    );
    expect(
      within(summary).getByRole('link', { name: 'Log in' }),
    ).toHaveAttribute('href', 'https://login.example.com');
    expect(
      within(summary).getByRole('button', { name: 'Download kubeconfig' }),
    ).toBeInTheDocument();
    expect(
      within(summary).queryByRole('link', { name: /Upgrade/ }),
    ).not.toBeInTheDocument();
    // Details on demand: the components' tables appear once opened.
    expect(
      screen.queryByRole('region', { name: 'Dex' }),
    ).not.toBeInTheDocument();
    await userEvent.click(
      within(summary).getByRole('button', { name: 'Details' }),
    );
    expect(
      await screen.findByRole('region', { name: 'Dex' }),
    ).toBeInTheDocument();
  });

  it('shows one line per installation, the worst health of its components', async () => {
    await showCard({
      installations: [
        installation(),
        installation({
          cluster: 'prod',
          namespace: 'auth',
          instance: 'dex',
          dex: component({
            version: '2.35.1',
            replicas: { desired: 2, ready: 1, updated: 1 },
            health: 'progressing',
          }),
          authenticator: undefined,
        }),
      ],
    });
    const prod = await screen.findByRole('region', {
      name: 'Dex installation prod/auth/dex',
    });
    expect(within(prod).getByText('Dex 2.35.1')).toBeInTheDocument();
    expect(within(prod).getByText('Ready 1/2')).toBeInTheDocument();
    expect(within(prod).getByText('progressing')).toBeInTheDocument();
    // No authenticator: nowhere to log in through a browser.
    expect(
      within(prod).queryByRole('link', { name: 'Log in' }),
    ).not.toBeInTheDocument();
    expect(screen.getAllByRole('button', { name: 'Details' })).toHaveLength(2);
  });

  it('downloads the kubeconfig of the installation from the backend', async () => {
    const api = mockApi(async () => response());
    (api.getKubeconfig as jest.Mock).mockResolvedValue('apiVersion: v1\n');
    const createObjectURL = jest.fn(() => 'blob:kubeconfig');
    const revokeObjectURL = jest.fn();
    Object.assign(URL, { createObjectURL, revokeObjectURL });
    const clicked: string[] = [];
    const click = jest
      .spyOn(HTMLAnchorElement.prototype, 'click')
      .mockImplementation(function recordDownload(this: HTMLAnchorElement) {
        clicked.push(this.download);
      });
    await renderCard(api);
    await userEvent.click(
      await screen.findByRole('button', { name: 'Download kubeconfig' }),
    );
    await waitFor(() =>
      expect(clicked).toEqual(['kubeconfig-local-dex-payments.yaml']),
    );
    expect(api.getKubeconfig).toHaveBeenCalledWith(
      'component:default/payments',
      'local/dex/payments',
    );
    const blob = (createObjectURL.mock.calls[0] as unknown[])[0] as Blob;
    expect(await blob.text()).toBe('apiVersion: v1\n');
    click.mockRestore();
  });

  it("shows why a kubeconfig cannot be made, in the backend's words", async () => {
    const api = mockApi(async () => response());
    (api.getKubeconfig as jest.Mock).mockRejectedValue(
      await backendError('/api/dex/kubeconfig', 409, 'Conflict', {
        name: 'ConflictError',
        message:
          'Dex installation local/dex/payments was made before the pack had a client for kubectl; run the "Add Dex auth" template again',
      }),
    );
    await renderCard(api);
    await userEvent.click(
      await screen.findByRole('button', { name: 'Download kubeconfig' }),
    );
    expect(await screen.findByRole('alert')).toHaveTextContent(
      /made before the pack had a client for kubectl/,
    );
  });

  it('offers Upgrade to the default version, the template filled in with what is installed', async () => {
    const dex = outdatedDex();
    const spec = {
      cluster: 'local',
      namespace: 'dex',
      instance: 'payments',
      kubernetesId: 'payments',
      clientId: 'kubernetes',
      dex: {
        version: '2.35.1',
        issuerUrl: 'https://dex.example.com',
        replicas: 1,
        storage: 'kubernetes',
        exposure: {
          serviceType: 'ClusterIP',
          ingress: {
            enabled: true,
            className: 'nginx',
            hosts: ['dex.example.com'],
            path: '/',
            tlsSecretName: 'wildcard',
          },
        },
      },
      authenticator: {
        enabled: true,
        version: '1.4.0',
        replicas: 1,
        exposure: {
          serviceType: 'ClusterIP',
          ingress: { enabled: true, hosts: ['login.example.com'], path: '/' },
        },
      },
      connectors: [
        {
          type: 'ldap',
          id: 'ldap',
          name: 'LDAP',
          host: 'ldap.example.com:636',
          bindDN: 'cn=dex,dc=example,dc=com',
          bindPasswordRef: { name: 'ldap-bind', key: 'password' },
          userBaseDN: 'ou=people,dc=example,dc=com',
        },
      ],
      staticClients: [],
      staticUsers: [
        {
          email: 'admin@example.com',
          username: 'admin',
          passwordRef: { name: 'users', key: 'password' },
          groups: ['admins'],
        },
      ],
      claims: { usernameClaim: 'email', groupsClaim: 'groups' },
      expiry: { idTokens: '24h', signingKeys: '6h' },
      apiServerCaFile: '/etc/kubernetes/pki/dex-ca.crt',
    } as unknown as DexInstallation['spec'];
    await showCard({ installations: [installation({ dex, spec })] });
    expect(await upgradeFormData()).toEqual({
      entity: 'component:default/payments',
      cluster: 'local',
      namespace: 'dex',
      instance: 'payments',
      version: '2.45.1',
      dexExposure: {
        serviceType: 'ClusterIP',
        issuerUrl: 'https://dex.example.com',
        ingress: {
          enabled: true,
          host: 'dex.example.com',
          className: 'nginx',
          path: '/',
          tlsSecretName: 'wildcard',
        },
      },
      authenticatorExposure: {
        serviceType: 'ClusterIP',
        ingress: { enabled: true, host: 'login.example.com', path: '/' },
      },
      authenticatorVersion: '1.4.0',
      authenticator: true,
      testUser: {
        enabled: true,
        email: 'admin@example.com',
        username: 'admin',
        group: 'admins',
        passwordRef: { name: 'users', key: 'password' },
      },
      connector: {
        type: 'ldap',
        host: 'ldap.example.com:636',
        bindDN: 'cn=dex,dc=example,dc=com',
        bindPasswordRef: { name: 'ldap-bind', key: 'password' },
        userBaseDN: 'ou=people,dc=example,dc=com',
      },
    });
  });

  it('upgrades an installation without a recorded spec by where it is and its name', async () => {
    const dex = outdatedDex();
    await showCard({ installations: [installation({ dex })] });
    expect(await upgradeFormData()).toEqual({
      entity: 'component:default/payments',
      cluster: 'local',
      namespace: 'dex',
      instance: 'payments',
      version: '2.45.1',
    });
  });

  it('shows a ready installation: endpoints, versions, Ingress, readiness, flags', async () => {
    const api = await showCard({}, { details: true });

    expect(await screen.findByText('Dex authentication')).toBeInTheDocument();
    expect(api.getStatus).toHaveBeenCalledWith('component:default/payments');
    expect(
      screen.getByText('Cluster local · namespace dex · instance payments'),
    ).toBeInTheDocument();

    const dexLinks = screen.getAllByRole('link', {
      name: /https:\/\/dex\.example\.com/,
    });
    // The issuer links to its discovery document (the issuer URL itself is a 404 at Dex).
    expect(dexLinks[0]).toHaveAttribute(
      'href',
      'https://dex.example.com/.well-known/openid-configuration',
    );
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
    await showCard(
      {
        installations: [installation({ dex, authenticator: undefined })],
      },
      { details: true },
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
    const dex = outdatedDex();
    await showCard(
      { installations: [installation({ dex })] },
      { details: true },
    );

    const region = await screen.findByRole('region', { name: 'Dex' });
    expect(within(region).getByText('2.35.1')).toBeInTheDocument();
    expect(
      within(region).getByText('update available (2.45.1)'),
    ).toBeInTheDocument();
  });

  it('warns about a certificate expiring within 30 days, and errors on an expired one', async () => {
    await showCard(
      {
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
      },
      { details: true },
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
    const error = await backendError('/api/dex/status', 403, 'Forbidden', {
      name: 'NotAllowedError',
      message: 'not allowed to read dex',
    });
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

  it('follows an installation that is coming up until it is healthy, then stops asking', async () => {
    const answers = [
      response({
        installations: [
          installation({
            dex: component({
              replicas: { desired: 1, ready: 0, updated: 1 },
              health: 'progressing',
            }),
          }),
        ],
      }),
      response(),
    ];
    const api = mockApi(async () => answers.shift() ?? response());
    await renderCard(api, entity, 10);

    const summary = await screen.findByRole('region', {
      name: 'Dex installation local/dex/payments',
    });
    expect(await within(summary).findByText('healthy')).toBeInTheDocument();
    expect(within(summary).getByText('Ready 3/3')).toBeInTheDocument();
    // Many poll intervals later it has not asked a third time.
    await new Promise(resolve => setTimeout(resolve, 200));
    expect(api.getStatus).toHaveBeenCalledTimes(2);
  });

  it('shows progress while loading', async () => {
    await renderCard(mockApi(() => new Promise(() => {})));

    expect(await screen.findByTestId('progress')).toBeInTheDocument();
  });

  it('asks the backend for an entity without annotations (installations are found by its ref)', async () => {
    const api = mockApi(async () => response());
    await renderCard(api, {
      ...entity,
      kind: 'Resource',
      metadata: { name: 'local-cluster', namespace: 'default' },
    });

    expect(await screen.findByText('Ready 3/3')).toBeInTheDocument();
    expect(api.getStatus).toHaveBeenCalledWith(
      'resource:default/local-cluster',
    );
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

    expect(await screen.findByText('Ready 3/3')).toBeInTheDocument();
    expect(api.getStatus).toHaveBeenCalledWith('component:default/payments');
  });

  it('shows a cluster error next to the results of the other clusters', async () => {
    await showCard(
      {
        errors: [{ cluster: 'prod', message: 'connect ECONNREFUSED' }],
      },
      { details: true },
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

  it('offers "Add Dex auth" with this entity filled in when it has no installation', async () => {
    await showCard({ installations: [] });

    expect(
      await screen.findByText('No Dex installation yet'),
    ).toBeInTheDocument();
    const add = screen.getByRole('link', { name: 'Add Dex auth' });
    expect(formDataOf(add.getAttribute('href'))).toEqual({
      entity: 'component:default/payments',
    });
  });

  it('says the API-server flags are to be set by hand in report mode', async () => {
    await showCard({}, { details: true });
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
      ...KUBEADM_CONTROL_PLANE,
      applied: true,
      rollout: { replicas: 3, updated: 1, observedLatestSpec: true },
    };
    await showCard(
      { installations: [installation({ kubeadmControlPlane })] },
      { details: true },
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
    await showCard(
      {
        installations: [
          installation({
            kubeadmControlPlane: {
              ...KUBEADM_CONTROL_PLANE,
              applied: false,
              rollout: { replicas: 3, updated: 3, observedLatestSpec: true },
            },
          }),
          installation({
            namespace: 'dex-2',
            kubeadmControlPlane: {
              ...KUBEADM_CONTROL_PLANE,
              error:
                'The management cluster "management" did not answer within 5000 ms',
            },
          }),
        ],
      },
      { details: true },
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
