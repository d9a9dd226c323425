/**
 * clusterApi mode of dex:pack:apply, against real kube-apiservers: the pack goes to the workload
 * cluster, its kube-apiserver settings to a KubeadmControlPlane (Cluster API v1.14.0's CRD) on a
 * management cluster. Then a kube-apiserver started with exactly the arguments and file that
 * KubeadmControlPlane holds accepts a token from the pack's Dex.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import {
  LocalCluster,
  LocalDex,
  freePort,
  httpsRequest,
  kubeadmControlPlaneCrd,
  passwordGrant,
  selfSubjectReview,
  startDex,
  startLocalCluster,
} from '@backstage-dex/local-cluster';
import {
  DEFAULT_DEX_VERSION,
  DEFAULT_USABLE_SECRET_LABEL,
} from '@backstage-dex/plugin-dex-common';
import {
  ANNOTATION_KCP_OIDC,
  readDexStatus,
} from '@backstage-dex/plugin-dex-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { mockContext } from '../__testUtils__/mockContext';
import { createDexPackApplyAction } from './packApply';

jest.setTimeout(300_000);

const GROUP = 'controlplane.cluster.x-k8s.io';
const KCP_NS = 'capi-clusters';
const USER = {
  email: 'admin@example.com',
  password: 'correct horse battery staple',
};
const AUDIT_POLICY =
  'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n';

let workload: LocalCluster;
let management: LocalCluster;
let k8s: typeof import('@kubernetes/client-node');
let workloadKc: KubeConfig;
let managementKc: KubeConfig;
let dexPort: number;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dex-cluster-api-'));

function kubeConfig(cluster: LocalCluster) {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(cluster.kubeconfig);
  return kc;
}

const clusterEntry = (name: string, c: LocalCluster) => ({
  name,
  url: c.server,
  authProvider: 'serviceAccount',
  serviceAccountToken: c.token,
  caData: Buffer.from(c.caPem).toString('base64'),
});

/** A KubeadmControlPlane as a Cluster API template makes it (v1beta2), applied by `kubectl apply --server-side`. */
function v1beta2Kcp(name: string) {
  return {
    apiVersion: `${GROUP}/v1beta2`,
    kind: 'KubeadmControlPlane',
    metadata: {
      name,
      namespace: KCP_NS,
      labels: {
        'cluster.x-k8s.io/cluster-name': name.replace(/-control-plane$/, ''),
      },
    },
    spec: {
      replicas: 3,
      version: 'v1.35.4',
      machineTemplate: {
        spec: {
          infrastructureRef: {
            apiGroup: 'infrastructure.cluster.x-k8s.io',
            kind: 'DockerMachineTemplate',
            name,
          },
        },
      },
      kubeadmConfigSpec: {
        clusterConfiguration: {
          apiServer: {
            certSANs: ['localhost', '127.0.0.1'],
            extraArgs: [
              {
                name: 'audit-log-path',
                value: '/var/log/kubernetes/audit.log',
              },
              {
                name: 'audit-policy-file',
                value: '/etc/kubernetes/audit-policy.yaml',
              },
            ],
          },
        },
        files: [
          {
            path: '/etc/kubernetes/audit-policy.yaml',
            owner: 'root:root',
            permissions: '0600',
            content: AUDIT_POLICY,
          },
        ],
        initConfiguration: {
          nodeRegistration: {
            kubeletExtraArgs: [
              { name: 'eviction-hard', value: 'nodefs.available<0%' },
            ],
          },
        },
        joinConfiguration: {
          nodeRegistration: {
            kubeletExtraArgs: [
              { name: 'eviction-hard', value: 'nodefs.available<0%' },
            ],
          },
        },
      },
    },
  };
}

/** The same for an older Cluster API that serves v1beta1 (extraArgs as a map). */
function v1beta1Kcp(name: string) {
  const kcp = v1beta2Kcp(name) as any;
  kcp.apiVersion = `${GROUP}/v1beta1`;
  kcp.spec.machineTemplate = {
    infrastructureRef: {
      apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
      kind: 'DockerMachineTemplate',
      name,
    },
  };
  kcp.spec.kubeadmConfigSpec.clusterConfiguration.apiServer.extraArgs = {
    'audit-log-path': '/var/log/kubernetes/audit.log',
    'audit-policy-file': '/etc/kubernetes/audit-policy.yaml',
  };
  kcp.spec.kubeadmConfigSpec.initConfiguration.nodeRegistration.kubeletExtraArgs =
    { 'eviction-hard': 'nodefs.available<0%' };
  kcp.spec.kubeadmConfigSpec.joinConfiguration.nodeRegistration.kubeletExtraArgs =
    { 'eviction-hard': 'nodefs.available<0%' };
  return kcp;
}

async function serverSideApply(
  kc: KubeConfig,
  body: object,
  fieldManager: string,
) {
  await k8s.KubernetesObjectApi.makeApiClient(kc).patch(
    body as any,
    undefined,
    undefined,
    fieldManager,
    true,
    k8s.PatchStrategy.ServerSideApply,
  );
}

async function readKcp(
  kc: KubeConfig,
  version: string,
  name: string,
): Promise<any> {
  return kc.makeApiClient(k8s.CustomObjectsApi).getNamespacedCustomObject({
    group: GROUP,
    version,
    namespace: KCP_NS,
    plural: 'kubeadmcontrolplanes',
    name,
  });
}

beforeAll(async () => {
  k8s = await import('@kubernetes/client-node');
  dexPort = await freePort();
  [workload, management] = await Promise.all([
    startLocalCluster(),
    startLocalCluster(),
  ]);
  workloadKc = kubeConfig(workload);
  managementKc = kubeConfig(management);
  // The management cluster serves v1beta2 (Cluster API 1.11+); the workload cluster doubles as an
  // older management cluster that serves v1beta1. Posted as JSON: the typed client serializes by
  // its model and would drop the CRD's x-kubernetes-* keys.
  const createCrd = async (c: LocalCluster, version: 'v1beta2' | 'v1beta1') => {
    const body = JSON.stringify(kubeadmControlPlaneCrd(version));
    const res = await httpsRequest(
      `${c.server}/apis/apiextensions.k8s.io/v1/customresourcedefinitions`,
      {
        caPem: c.caPem,
        method: 'POST',
        headers: {
          authorization: `Bearer ${c.token}`,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
        },
        body,
      },
    );
    if (res.status !== 201)
      throw new Error(
        `creating the ${version} CRD: HTTP ${res.status} ${res.body.slice(0, 500)}`,
      );
  };
  await Promise.all([
    createCrd(management, 'v1beta2'),
    createCrd(workload, 'v1beta1'),
  ]);
  for (const kc of [managementKc, workloadKc]) {
    await kc
      .makeApiClient(k8s.CoreV1Api)
      .createNamespace({ body: { metadata: { name: KCP_NS } } });
  }
  // CRDs serve shortly after they are created.
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      await serverSideApply(
        managementKc,
        v1beta2Kcp('workload-control-plane'),
        'kubectl',
      );
      await serverSideApply(
        workloadKc,
        v1beta1Kcp('legacy-control-plane'),
        'kubectl',
      );
      break;
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise(r => setTimeout(r, 500));
    }
  }
  await workloadKc
    .makeApiClient(k8s.CoreV1Api)
    .createNamespace({ body: { metadata: { name: 'dex' } } });
  await workloadKc.makeApiClient(k8s.CoreV1Api).createNamespacedSecret({
    namespace: 'dex',
    body: {
      // Marked by the platform as usable by Dex packs.
      metadata: {
        name: 'dex-users',
        labels: {
          [DEFAULT_USABLE_SECRET_LABEL.key]: DEFAULT_USABLE_SECRET_LABEL.value,
        },
      },
      stringData: { admin: USER.password },
    },
  });
});

afterAll(async () => {
  await Promise.all([workload?.stop(), management?.stop()]);
  fs.rmSync(work, { recursive: true, force: true });
});

function config(
  authentication: 'flags' | 'authenticationConfiguration' = 'flags',
) {
  return new ConfigReader({
    kubernetes: {
      clusterLocatorMethods: [
        {
          type: 'config',
          clusters: [
            clusterEntry('workload', workload),
            clusterEntry('management', management),
            clusterEntry('legacy', workload),
          ],
        },
      ],
    },
    dex: {
      clusters: {
        workload: {
          apiServer: {
            mode: 'clusterApi',
            managementCluster: 'management',
            kubeadmControlPlane: {
              namespace: KCP_NS,
              name: 'workload-control-plane',
            },
            authentication,
          },
        },
        legacy: {
          apiServer: {
            mode: 'clusterApi',
            managementCluster: 'legacy',
            kubeadmControlPlane: {
              namespace: KCP_NS,
              name: 'legacy-control-plane',
            },
            authentication,
          },
        },
      },
    },
  });
}

const input = (cluster: string, extra: object = {}) => ({
  cluster,
  namespace: 'dex',
  instance: cluster === 'legacy' ? 'legacy-dex' : 'dex',
  entityRef: 'component:default/payments-api',
  dex: {
    issuerUrl: `https://127.0.0.1:${dexPort}/dex`,
    exposure: { extraNames: ['127.0.0.1'] },
    storage: 'memory',
  },
  authenticator: { enabled: false },
  staticUsers: [
    {
      email: USER.email,
      username: 'admin',
      passwordRef: { name: 'dex-users', key: 'admin' },
    },
  ],
  ...extra,
});

async function run(
  cluster: string,
  options: {
    isDryRun?: boolean;
    force?: boolean;
    authentication?: 'flags' | 'authenticationConfiguration';
    instance?: string;
  } = {},
) {
  const action = createDexPackApplyAction({
    config: config(options.authentication),
    permissions: mockServices.permissions(),
  });
  const extra = {
    ...(options.force ? { force: true } : {}),
    ...(options.instance ? { instance: options.instance } : {}),
  };
  const r = await mockContext({
    input: input(cluster, extra),
    isDryRun: options.isDryRun,
  });
  await action.handler(r.ctx);
  return r;
}

async function caPem() {
  const s = await workloadKc
    .makeApiClient(k8s.CoreV1Api)
    .readNamespacedSecret({ name: 'dex-ca', namespace: 'dex' });
  return Buffer.from(s.data!['tls.crt'], 'base64').toString('utf8');
}

/** Runs the pack's Dex from its rendered config (memory storage; listen address and file paths local) and gets a token from it. */
async function packDexToken(
  instance: string,
): Promise<{ dex: LocalDex; token: string }> {
  const core = workloadKc.makeApiClient(k8s.CoreV1Api);
  const read = (name: string) =>
    core.readNamespacedSecret({
      name: `${instance}-${name}`,
      namespace: 'dex',
    });
  const [configSecret, tls, clients, ca] = await Promise.all([
    read('config'),
    read('tls'),
    read('clients'),
    read('ca'),
  ]);
  const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
  const dir = fs.mkdtempSync(path.join(work, `${instance}-`));
  const dexConfig = YAML.parse(b64(configSecret.data!['config.yaml']));
  dexConfig.web = {
    https: `127.0.0.1:${dexPort}`,
    tlsCert: path.join(dir, 'tls.crt'),
    tlsKey: path.join(dir, 'tls.key'),
  };
  if (dexConfig.telemetry)
    dexConfig.telemetry = { http: `127.0.0.1:${await freePort()}` };
  const caPemOfPack = b64(ca.data!['tls.crt']);
  const dex = await startDex({
    version: `v${DEFAULT_DEX_VERSION}`,
    configYaml: YAML.stringify(dexConfig),
    caPem: caPemOfPack,
    files: {
      [path.join(dir, 'tls.crt')]: b64(tls.data!['tls.crt']),
      [path.join(dir, 'tls.key')]: b64(tls.data!['tls.key']),
    },
  });
  try {
    const token = await passwordGrant({
      issuer: dex.issuer,
      caPem: caPemOfPack,
      clientId: 'kubernetes',
      clientSecret: b64(clients.data!.kubernetes),
      username: USER.email,
      password: USER.password,
    });
    return { dex, token };
  } catch (e) {
    await dex.stop();
    throw e;
  }
}

describe('v1beta2 (Cluster API 1.11+)', () => {
  it('dry run: shows the change and writes nothing to the KubeadmControlPlane', async () => {
    const before = await readKcp(
      managementKc,
      'v1beta2',
      'workload-control-plane',
    );
    const { outputs, logs } = await run('workload', { isDryRun: true });
    expect(outputs.apiServerMode).toBe('clusterApi');
    expect(outputs.kubeadmControlPlane).toEqual({
      name: `${KCP_NS}/workload-control-plane`,
      apiVersion: `${GROUP}/v1beta2`,
      action: 'update',
      changes: expect.arrayContaining([
        'set extraArgs oidc-issuer-url',
        'set extraArgs oidc-ca-file',
        'add file /etc/kubernetes/pki/dex-ca.crt',
      ]),
    });
    expect(logs.join('\n')).toContain(
      `KubeadmControlPlane ${KCP_NS}/workload-control-plane would get set extraArgs oidc-issuer-url`,
    );
    const after = await readKcp(
      managementKc,
      'v1beta2',
      'workload-control-plane',
    );
    expect(after.metadata.resourceVersion).toBe(
      before.metadata.resourceVersion,
    );
  });

  it('applies the OIDC arguments and the CA file, leaving the other arguments and files as they were', async () => {
    const { outputs } = await run('workload');
    const ca = await caPem();
    const kcp = await readKcp(
      managementKc,
      'v1beta2',
      'workload-control-plane',
    );
    const apiServer = kcp.spec.kubeadmConfigSpec.clusterConfiguration.apiServer;
    expect(apiServer.extraArgs).toEqual([
      { name: 'audit-log-path', value: '/var/log/kubernetes/audit.log' },
      { name: 'audit-policy-file', value: '/etc/kubernetes/audit-policy.yaml' },
      { name: 'oidc-issuer-url', value: `https://127.0.0.1:${dexPort}/dex` },
      { name: 'oidc-client-id', value: 'kubernetes' },
      { name: 'oidc-ca-file', value: '/etc/kubernetes/pki/dex-ca.crt' },
      { name: 'oidc-username-claim', value: 'email' },
      { name: 'oidc-groups-claim', value: 'groups' },
      { name: 'oidc-groups-prefix', value: 'oidc:' },
    ]);
    expect(apiServer.certSANs).toEqual(['localhost', '127.0.0.1']);
    expect(kcp.spec.kubeadmConfigSpec.files).toEqual([
      {
        path: '/etc/kubernetes/audit-policy.yaml',
        owner: 'root:root',
        permissions: '0600',
        content: AUDIT_POLICY,
      },
      {
        path: '/etc/kubernetes/pki/dex-ca.crt',
        owner: 'root:root',
        permissions: '0644',
        content: ca,
      },
    ]);
    expect(kcp.spec.kubeadmConfigSpec.initConfiguration).toEqual(
      v1beta2Kcp('x').spec.kubeadmConfigSpec.initConfiguration,
    );
    expect(kcp.spec.replicas).toBe(3);
    expect(kcp.spec.version).toBe('v1.35.4');
    expect(JSON.parse(kcp.metadata.annotations[ANNOTATION_KCP_OIDC])).toEqual({
      owner: 'workload/dex/dex',
      files: ['/etc/kubernetes/pki/dex-ca.crt'],
    });
    // Our arguments are ours; the template's stay the template's.
    const managers = Object.fromEntries(
      kcp.metadata.managedFields.map((f: any) => [
        f.manager,
        JSON.stringify(f.fieldsV1),
      ]),
    );
    expect(managers['backstage-dex']).toContain(
      '"k:{\\"name\\":\\"oidc-issuer-url\\"',
    );
    expect(managers['backstage-dex']).not.toContain('audit-log-path');
    expect(managers.kubectl).toContain('audit-log-path');
    expect((outputs.kubeadmControlPlane as any).action).toBe('update');
    // The settings ConfigMap records where they went (the card reads it).
    const cm = await workloadKc
      .makeApiClient(k8s.CoreV1Api)
      .readNamespacedConfigMap({
        name: 'dex-apiserver-settings',
        namespace: 'dex',
      });
    expect(cm.data).toMatchObject({
      'apiserver-mode': 'clusterApi',
      'kubeadm-control-plane': `management/${KCP_NS}/workload-control-plane`,
      'kubeadm-control-plane-api-version': `${GROUP}/v1beta2`,
    });
  });

  it('a re-run writes nothing (resourceVersion unchanged)', async () => {
    const before = await readKcp(
      managementKc,
      'v1beta2',
      'workload-control-plane',
    );
    const { outputs } = await run('workload');
    expect(outputs.kubeadmControlPlane).toMatchObject({
      action: 'unchanged',
      changes: [],
    });
    const after = await readKcp(
      managementKc,
      'v1beta2',
      'workload-control-plane',
    );
    expect(after.metadata.resourceVersion).toBe(
      before.metadata.resourceVersion,
    );
  });

  it('shows the rollout on the status the card reads', async () => {
    const kcp = await readKcp(
      managementKc,
      'v1beta2',
      'workload-control-plane',
    );
    // What the Cluster API controller would write while it replaces the machines.
    await managementKc
      .makeApiClient(k8s.CustomObjectsApi)
      .patchNamespacedCustomObjectStatus(
        {
          group: GROUP,
          version: 'v1beta2',
          namespace: KCP_NS,
          plural: 'kubeadmcontrolplanes',
          name: 'workload-control-plane',
          body: {
            status: {
              replicas: 3,
              upToDateReplicas: 1,
              observedGeneration: kcp.metadata.generation,
            },
          },
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    const status = await readDexStatus({
      clusters: [{ name: 'workload', kc: workloadKc }],
      kubernetesId: 'payments-api',
      entityRef: 'component:default/payments-api',
      managementCluster: async name =>
        name === 'management' ? managementKc : undefined,
    });
    expect(status.errors).toEqual([]);
    expect(
      status.installations.find(i => i.instance === 'dex')?.kubeadmControlPlane,
    ).toEqual({
      managementCluster: 'management',
      namespace: KCP_NS,
      name: 'workload-control-plane',
      authentication: 'flags',
      applied: true,
      rollout: { replicas: 3, updated: 1, observedLatestSpec: true },
    });
  });

  it('refuses a second Dex pack for the same KubeadmControlPlane before writing anything', async () => {
    const before = await readKcp(
      managementKc,
      'v1beta2',
      'workload-control-plane',
    );
    await expect(run('workload', { instance: 'second' })).rejects.toMatchObject(
      {
        name: 'ConflictError',
        message: expect.stringContaining(
          `KubeadmControlPlane ${KCP_NS}/workload-control-plane: it carries the OIDC settings of another Dex pack (workload/dex/dex)`,
        ),
      },
    );
    expect(
      (await readKcp(managementKc, 'v1beta2', 'workload-control-plane'))
        .metadata.resourceVersion,
    ).toBe(before.metadata.resourceVersion);
    // Checked before the pack: nothing of the second pack was written to the workload cluster.
    const secrets = await workloadKc
      .makeApiClient(k8s.CoreV1Api)
      .listNamespacedSecret({ namespace: 'dex' });
    expect(
      secrets.items
        .map(i => i.metadata!.name)
        .filter(n => n!.startsWith('second-')),
    ).toEqual([]);
  });

  it('refuses an argument another manager set to another value, changing nothing; force takes it over', async () => {
    await serverSideApply(
      managementKc,
      {
        apiVersion: `${GROUP}/v1beta2`,
        kind: 'KubeadmControlPlane',
        metadata: { name: 'workload-control-plane', namespace: KCP_NS },
        spec: {
          kubeadmConfigSpec: {
            clusterConfiguration: {
              apiServer: {
                extraArgs: [
                  {
                    name: 'authentication-config',
                    value: '/etc/kubernetes/authn.yaml',
                  },
                ],
              },
            },
          },
        },
      },
      'platform-admin',
    );
    const before = await readKcp(
      managementKc,
      'v1beta2',
      'workload-control-plane',
    );
    await expect(run('workload')).rejects.toMatchObject({
      name: 'ConflictError',
      message: expect.stringMatching(
        /KubeadmControlPlane capi-clusters\/workload-control-plane: extraArgs authentication-config is set to "\/etc\/kubernetes\/authn.yaml" by platform-admin\. Nothing was changed\..*force/,
      ),
    });
    expect(
      (await readKcp(managementKc, 'v1beta2', 'workload-control-plane'))
        .metadata.resourceVersion,
    ).toBe(before.metadata.resourceVersion);

    const { outputs } = await run('workload', { force: true });
    expect((outputs.kubeadmControlPlane as any).changes).toEqual([
      'remove extraArgs authentication-config',
    ]);
    const kcp = await readKcp(
      managementKc,
      'v1beta2',
      'workload-control-plane',
    );
    const names =
      kcp.spec.kubeadmConfigSpec.clusterConfiguration.apiServer.extraArgs.map(
        (a: any) => a.name,
      );
    expect(names).not.toContain('authentication-config');
    expect(names).toEqual(
      expect.arrayContaining([
        'audit-log-path',
        'audit-policy-file',
        'oidc-issuer-url',
      ]),
    );
  });

  it('a kube-apiserver with exactly those arguments and that file accepts a token from the pack’s Dex', async () => {
    const kcp = await readKcp(
      managementKc,
      'v1beta2',
      'workload-control-plane',
    );
    const ours: string[] = JSON.parse(
      kcp.metadata.annotations[ANNOTATION_KCP_OIDC],
    ).files;
    // The node's files, written under a temporary root; the paths in the arguments mapped to it.
    const root = path.join(work, 'node');
    const mapPath = (p: string) => (ours.includes(p) ? path.join(root, p) : p);
    for (const f of kcp.spec.kubeadmConfigSpec.files.filter((x: any) =>
      ours.includes(x.path),
    )) {
      fs.mkdirSync(path.dirname(mapPath(f.path)), { recursive: true });
      fs.writeFileSync(mapPath(f.path), f.content);
    }
    const flags =
      kcp.spec.kubeadmConfigSpec.clusterConfiguration.apiServer.extraArgs
        .filter((a: any) => a.name.startsWith('oidc-'))
        .map((a: any) => `--${a.name}=${mapPath(a.value)}`);
    expect(flags).toHaveLength(6);

    let dex: LocalDex | undefined;
    let apiserver: LocalCluster | undefined;
    try {
      let token: string;
      [{ dex, token }, apiserver] = await Promise.all([
        packDexToken('dex'),
        startLocalCluster({ apiServerFlags: flags }),
      ]);
      const review = await selfSubjectReview(
        apiserver.server,
        apiserver.caPem,
        token,
      );
      expect(review.username).toBe(USER.email);
    } finally {
      await Promise.all([dex?.stop(), apiserver?.stop()]);
    }
  });
});

describe('v1beta1 (older Cluster API)', () => {
  it('sets the arguments in the extraArgs map, keeps the others, and a re-run writes nothing', async () => {
    const { outputs } = await run('legacy');
    expect(outputs.kubeadmControlPlane).toMatchObject({
      apiVersion: `${GROUP}/v1beta1`,
      action: 'update',
    });
    const kcp = await readKcp(workloadKc, 'v1beta1', 'legacy-control-plane');
    expect(
      kcp.spec.kubeadmConfigSpec.clusterConfiguration.apiServer.extraArgs,
    ).toEqual({
      'audit-log-path': '/var/log/kubernetes/audit.log',
      'audit-policy-file': '/etc/kubernetes/audit-policy.yaml',
      'oidc-issuer-url': `https://127.0.0.1:${dexPort}/dex`,
      'oidc-client-id': 'kubernetes',
      'oidc-ca-file': '/etc/kubernetes/pki/dex-ca.crt',
      'oidc-username-claim': 'email',
      'oidc-groups-claim': 'groups',
      'oidc-groups-prefix': 'oidc:',
    });
    expect(kcp.spec.kubeadmConfigSpec.files.map((f: any) => f.path)).toEqual([
      '/etc/kubernetes/audit-policy.yaml',
      '/etc/kubernetes/pki/dex-ca.crt',
    ]);
    const again = await run('legacy');
    expect(again.outputs.kubeadmControlPlane).toMatchObject({
      action: 'unchanged',
    });
    expect(
      (await readKcp(workloadKc, 'v1beta1', 'legacy-control-plane')).metadata
        .resourceVersion,
    ).toBe(kcp.metadata.resourceVersion);
  });

  it('refuses an argument of the pack that someone else changed, naming them; force sets it back', async () => {
    await serverSideApply(
      workloadKc,
      {
        apiVersion: `${GROUP}/v1beta1`,
        kind: 'KubeadmControlPlane',
        metadata: { name: 'legacy-control-plane', namespace: KCP_NS },
        spec: {
          kubeadmConfigSpec: {
            clusterConfiguration: {
              apiServer: { extraArgs: { 'oidc-client-id': 'other-client' } },
            },
          },
        },
      },
      'platform-admin',
    );
    const before = await readKcp(workloadKc, 'v1beta1', 'legacy-control-plane');
    await expect(run('legacy')).rejects.toMatchObject({
      name: 'ConflictError',
      message: expect.stringContaining(
        'extraArgs oidc-client-id is set to "other-client" by platform-admin. Nothing was changed.',
      ),
    });
    expect(
      (await readKcp(workloadKc, 'v1beta1', 'legacy-control-plane')).metadata
        .resourceVersion,
    ).toBe(before.metadata.resourceVersion);

    const { outputs } = await run('legacy', { force: true });
    expect((outputs.kubeadmControlPlane as any).changes).toEqual([
      'change extraArgs oidc-client-id',
    ]);
    const kcp = await readKcp(workloadKc, 'v1beta1', 'legacy-control-plane');
    expect(
      kcp.spec.kubeadmConfigSpec.clusterConfiguration.apiServer.extraArgs[
        'oidc-client-id'
      ],
    ).toBe('kubernetes');
    expect(
      kcp.spec.kubeadmConfigSpec.clusterConfiguration.apiServer.extraArgs[
        'audit-log-path'
      ],
    ).toBe('/var/log/kubernetes/audit.log');
  });

  it('switching to an AuthenticationConfiguration replaces the flags and the CA file with the config file', async () => {
    const { outputs } = await run('legacy', {
      authentication: 'authenticationConfiguration',
    });
    expect((outputs.kubeadmControlPlane as any).changes).toEqual(
      expect.arrayContaining([
        'set extraArgs authentication-config',
        'remove extraArgs oidc-issuer-url',
        'remove file /etc/kubernetes/pki/dex-ca.crt',
      ]),
    );
    const kcp = await readKcp(workloadKc, 'v1beta1', 'legacy-control-plane');
    const configPath =
      '/etc/kubernetes/pki/legacy-dex-authentication-config.yaml';
    expect(
      kcp.spec.kubeadmConfigSpec.clusterConfiguration.apiServer.extraArgs,
    ).toEqual({
      'audit-log-path': '/var/log/kubernetes/audit.log',
      'audit-policy-file': '/etc/kubernetes/audit-policy.yaml',
      'authentication-config': configPath,
    });
    const files = kcp.spec.kubeadmConfigSpec.files;
    expect(files.map((f: any) => f.path)).toEqual([
      '/etc/kubernetes/audit-policy.yaml',
      configPath,
    ]);
    expect(YAML.parse(files[1].content)).toMatchObject({
      kind: 'AuthenticationConfiguration',
      jwt: [
        {
          issuer: {
            url: `https://127.0.0.1:${dexPort}/dex`,
            audiences: ['kubernetes'],
          },
        },
      ],
    });

    // A kube-apiserver given exactly that file accepts the pack's tokens.
    let dex: LocalDex | undefined;
    let apiserver: LocalCluster | undefined;
    try {
      let token: string;
      [{ dex, token }, apiserver] = await Promise.all([
        packDexToken('legacy-dex'),
        startLocalCluster({ authenticationConfig: files[1].content }),
      ]);
      expect(
        (await selfSubjectReview(apiserver.server, apiserver.caPem, token))
          .username,
      ).toBe(USER.email);
    } finally {
      await Promise.all([dex?.stop(), apiserver?.stop()]);
    }
  });
});
