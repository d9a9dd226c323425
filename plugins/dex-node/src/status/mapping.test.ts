import type {
  V1ConfigMap,
  V1Deployment,
  V1Ingress,
  V1Service,
} from '@kubernetes/client-node';
import {
  DEFAULT_POLICY,
  PlatformPolicy,
} from '@backstage-dex/plugin-dex-common';
import {
  certificateInfo,
  generateCa,
  issueServingCertificate,
} from '../pack/certificates';
import { installationsFromSnapshot } from './mapping';
import { ClusterSnapshot, TlsSecretCertificates } from './types';

const NS = 'team-a';
const labels = (name?: string) => ({
  'app.kubernetes.io/managed-by': 'backstage-dex',
  'app.kubernetes.io/instance': 'dex',
  'backstage.io/kubernetes-id': 'payments-api',
  ...(name ? { 'app.kubernetes.io/name': name } : {}),
});

function deployment(
  name: string,
  component: string,
  image: string,
  status: V1Deployment['status'] = {},
): V1Deployment {
  return {
    metadata: { name, namespace: NS, labels: labels(component) },
    spec: {
      replicas: 2,
      selector: {},
      template: { spec: { containers: [{ name: component, image }] } },
    },
    status,
  };
}

function service(
  name: string,
  component: string,
  type: string,
  port: number,
  extra: Partial<V1Service> = {},
): V1Service {
  return {
    metadata: { name, namespace: NS, labels: labels(component) },
    spec: {
      type,
      clusterIP: '10.0.0.10',
      ports: [{ port, nodePort: type === 'ClusterIP' ? undefined : 31000 }],
    },
    ...extra,
  };
}

function ingress(
  name: string,
  component: string,
  host: string,
  addresses: string[] = [],
): V1Ingress {
  return {
    metadata: { name, namespace: NS, labels: labels(component) },
    spec: {
      ingressClassName: 'nginx',
      tls: [{ hosts: [host], secretName: `${name}-tls` }],
      rules: [
        {
          host,
          http: { paths: [{ path: '/', pathType: 'Prefix', backend: {} }] },
        },
      ],
    },
    status: { loadBalancer: { ingress: addresses.map(ip => ({ ip })) } },
  };
}

const apiServerConfigMap: V1ConfigMap = {
  metadata: { name: 'dex-apiserver-settings', namespace: NS, labels: labels() },
  data: {
    'issuer-url': 'https://dex.example.test',
    'client-id': 'kubernetes',
    'oidc-flags':
      '--oidc-issuer-url=https://dex.example.test\n--oidc-client-id=kubernetes\n',
    'authentication-configuration.yaml':
      'apiVersion: apiserver.config.k8s.io/v1\n',
  },
};

describe('installationsFromSnapshot', () => {
  const now = new Date();
  let secrets: TlsSecretCertificates[];

  beforeAll(() => {
    const ca = generateCa('dex-ca', { days: 365 });
    const serving = issueServingCertificate(ca, {
      commonName: 'dex',
      names: ['dex.example.test'],
      days: 10,
    });
    const summary = (pem: string) => {
      const info = certificateInfo(pem);
      return { subject: info.subject, notAfter: info.notAfter };
    };
    secrets = [
      {
        namespace: NS,
        name: 'dex-tls',
        labels: labels('dex'),
        certificate: summary(serving.certPem),
        ca: summary(ca.certPem),
      },
    ];
  });

  const snapshot = (over: Partial<ClusterSnapshot> = {}): ClusterSnapshot => ({
    deployments: [
      deployment('dex', 'dex', 'ghcr.io/dexidp/dex:v2.44.0', {
        readyReplicas: 2,
        updatedReplicas: 2,
      }),
      deployment(
        'dex-authenticator',
        'dex-k8s-authenticator',
        'mintel/dex-k8s-authenticator:1.4.0',
      ),
    ],
    services: [
      service('dex', 'dex', 'ClusterIP', 5556),
      service(
        'dex-authenticator',
        'dex-k8s-authenticator',
        'LoadBalancer',
        5555,
      ),
    ],
    ingresses: [ingress('dex', 'dex', 'dex.example.test')],
    tlsSecrets: secrets,
    configMaps: [apiServerConfigMap],
    ...over,
  });

  const cluster = { name: 'prod', server: 'https://10.1.2.3:6443' };

  it('maps a pending Ingress, a pending LoadBalancer, an update available and an expiring certificate', () => {
    const [inst, ...rest] = installationsFromSnapshot(cluster, snapshot(), {
      now,
    });
    expect(rest).toEqual([]);
    expect(inst).toMatchObject({
      cluster: 'prod',
      namespace: NS,
      instance: 'dex',
      issuerUrl: 'https://dex.example.test',
    });

    expect(inst.dex).toMatchObject({
      name: 'dex',
      version: '2.44.0',
      defaultVersion: DEFAULT_POLICY.dex.defaultVersion,
      updateAvailable: true,
      serviceType: 'ClusterIP',
      replicas: { desired: 2, ready: 2, updated: 2 },
      health: 'healthy',
      ingress: {
        name: 'dex',
        className: 'nginx',
        hosts: ['dex.example.test'],
        tls: true,
        addresses: [],
        state: 'pending',
      },
    });
    expect(inst.dex.endpoints).toEqual([
      { kind: 'ingress', url: 'https://dex.example.test', ready: false },
      { kind: 'clusterIP', url: 'https://dex.team-a.svc:5556', ready: true },
    ]);

    expect(inst.authenticator).toMatchObject({
      version: '1.4.0',
      updateAvailable: false,
      serviceType: 'LoadBalancer',
      replicas: { desired: 2, ready: 0, updated: 0 },
      health: 'progressing',
    });
    expect(inst.authenticator!.ingress).toBeUndefined();
    expect(inst.authenticator!.endpoints).toEqual([
      { kind: 'loadBalancer', url: '', ready: false },
      {
        kind: 'clusterIP',
        url: 'https://dex-authenticator.team-a.svc:5555',
        ready: true,
      },
    ]);

    expect(inst.certificates.map(c => c.name)).toEqual(['dex-ca', 'dex-tls']);
    const serving = inst.certificates.find(c => c.name === 'dex-tls')!;
    expect(serving.daysLeft).toBeGreaterThanOrEqual(9);
    expect(serving.daysLeft).toBeLessThanOrEqual(10);
    expect(serving.subject).toContain('CN=dex');
    expect(
      inst.certificates.find(c => c.name === 'dex-ca')!.daysLeft,
    ).toBeGreaterThan(360);

    expect(inst.apiServer).toEqual({
      issuerUrl: 'https://dex.example.test',
      clientId: 'kubernetes',
      flags: [
        '--oidc-issuer-url=https://dex.example.test',
        '--oidc-client-id=kubernetes',
      ],
      authenticationConfiguration: 'apiVersion: apiserver.config.k8s.io/v1\n',
    });
  });

  it("reads the pack's CA, its kubectl client and the recorded spec from the settings ConfigMap", () => {
    const ca = '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n';
    const recorded = { namespace: NS, instance: 'dex', connectors: [] };
    const [inst] = installationsFromSnapshot(
      cluster,
      snapshot({
        configMaps: [
          {
            ...apiServerConfigMap,
            data: {
              ...apiServerConfigMap.data,
              'ca.crt': ca,
              'kubectl-client-id': 'kubectl',
              'spec.json': JSON.stringify(recorded),
            },
          },
        ],
      }),
    );
    expect(inst.apiServer?.caPem).toBe(ca);
    expect(inst.kubectlClientId).toBe('kubectl');
    expect(inst.spec).toEqual(recorded);

    // Made before the pack recorded them (or the record is unreadable): absent, not an error.
    const [older] = installationsFromSnapshot(
      cluster,
      snapshot({
        configMaps: [
          {
            ...apiServerConfigMap,
            data: { ...apiServerConfigMap.data, 'spec.json': '{not json' },
          },
        ],
      }),
    );
    expect(older.kubectlClientId).toBeUndefined();
    expect(older.spec).toBeUndefined();
  });

  it('reports addresses once the controllers assign them, and NodePorts on the API server host', () => {
    const [inst] = installationsFromSnapshot(
      cluster,
      snapshot({
        ingresses: [ingress('dex', 'dex', 'dex.example.test', ['203.0.113.7'])],
        services: [
          service('dex', 'dex', 'NodePort', 5556),
          service(
            'dex-authenticator',
            'dex-k8s-authenticator',
            'LoadBalancer',
            5555,
            {
              status: {
                loadBalancer: { ingress: [{ hostname: 'lb.example.test' }] },
              },
            },
          ),
        ],
      }),
      { now },
    );
    expect(inst.dex.ingress).toMatchObject({
      addresses: ['203.0.113.7'],
      state: 'ready',
    });
    expect(inst.dex.endpoints).toEqual([
      { kind: 'ingress', url: 'https://dex.example.test', ready: true },
      { kind: 'nodePort', url: 'https://10.1.2.3:31000', ready: true },
      { kind: 'clusterIP', url: 'https://dex.team-a.svc:5556', ready: true },
    ]);
    expect(inst.authenticator!.endpoints[0]).toEqual({
      kind: 'loadBalancer',
      url: 'https://lb.example.test:5555',
      ready: true,
    });
  });

  it('compares versions with the platform policy, and flags missing and failing workloads', () => {
    const policy: PlatformPolicy = {
      ...DEFAULT_POLICY,
      dex: { allowedVersions: ['2.44.0'], defaultVersion: '2.44.0' },
    };
    const failing = deployment('dex', 'dex', 'ghcr.io/dexidp/dex:v2.44.0', {
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
        },
      ],
    });
    const [inst] = installationsFromSnapshot(
      cluster,
      snapshot({ deployments: [failing], ingresses: [] }),
      { policy, now },
    );
    expect(inst.dex).toMatchObject({
      version: '2.44.0',
      defaultVersion: '2.44.0',
      updateAvailable: false,
      health: 'unhealthy',
    });
    expect(inst.authenticator).toMatchObject({
      health: 'missing',
      replicas: { desired: 0, ready: 0, updated: 0 },
    });
  });

  it('is progressing while a rollout is under way, though an old pod is still ready', () => {
    const at = (status: V1Deployment['status'], generation = 2) => {
      const d = deployment('dex', 'dex', 'ghcr.io/dexidp/dex:v2.45.1', status);
      d.metadata!.generation = generation;
      return installationsFromSnapshot(
        cluster,
        snapshot({ deployments: [d], ingresses: [] }),
        { now },
      )[0].dex.health;
    };
    // The controller has not seen the new spec yet.
    expect(
      at({
        observedGeneration: 1,
        replicas: 2,
        readyReplicas: 2,
        updatedReplicas: 2,
      }),
    ).toBe('progressing');
    // New pods created, old ones still there (and ready).
    expect(
      at({
        observedGeneration: 2,
        replicas: 4,
        readyReplicas: 2,
        updatedReplicas: 2,
      }),
    ).toBe('progressing');
    // Rolled out.
    expect(
      at({
        observedGeneration: 2,
        replicas: 2,
        readyReplicas: 2,
        updatedReplicas: 2,
      }),
    ).toBe('healthy');
  });

  it('groups by namespace and instance, and ignores objects that are not an installation', () => {
    const other = (o: {
      metadata?: { namespace?: string; labels?: Record<string, string> };
    }) => {
      o.metadata!.namespace = 'team-b';
      return o;
    };
    const installations = installationsFromSnapshot(
      cluster,
      snapshot({
        deployments: [
          deployment('dex', 'dex', 'ghcr.io/dexidp/dex:v2.45.1'),
          other(
            deployment('dex', 'dex', 'ghcr.io/dexidp/dex:v2.45.1'),
          ) as V1Deployment,
        ],
        services: [],
        ingresses: [],
        // Labelled but without an instance: skipped.
        configMaps: [
          {
            metadata: {
              name: 'stray',
              namespace: 'team-c',
              labels: { 'app.kubernetes.io/managed-by': 'backstage-dex' },
            },
          },
        ],
      }),
      { now },
    );
    expect(installations.map(i => `${i.namespace}/${i.instance}`)).toEqual([
      'team-a/dex',
      'team-b/dex',
    ]);
    expect(installations[1].authenticator).toBeUndefined();
    expect(installations[1].certificates).toEqual([]);
    expect(installations[1].apiServer).toBeUndefined();
  });
});
