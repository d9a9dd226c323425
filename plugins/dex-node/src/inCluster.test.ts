/**
 * @tier integration
 * The pack as a cluster runs it: rendered objects applied to a local cluster with its node
 * (kube-controller-manager, kube-scheduler, the node agent running pods as their images would,
 * LoadBalancer addresses on loopback). Nothing is started by hand: the Deployments become Pods,
 * Dex keeps its state through the rendered ServiceAccount and RBAC only, and both components
 * answer on their LoadBalancer addresses.
 */
import {
  LocalCluster,
  httpsRequest,
  jwtClaims,
  startLocalCluster,
  formLogin,
} from '@backstage-dex/local-cluster';
import {
  AUTHENTICATOR_RELEASES,
  DEX_RELEASES,
  PackSpec,
  validateSpec,
  withDefaults,
} from '@backstage-dex/plugin-dex-common';
import type { KubeConfig } from '@kubernetes/client-node';
import {
  dexServiceAccountMay,
  dexStorageObjects,
} from './__testUtils__/dexStorage';
import { applyObjects } from './cluster/apply';
import { clientNode } from './cluster/clientNode';
import { PackMaterial, prepareMaterial } from './pack/material';
import {
  AUTHENTICATOR_PORT,
  DEX_HTTPS_PORT,
  objectNames,
  selector,
} from './pack/names';
import { KubeObject, render } from './pack/render';
import { adminKubeConfig } from './reliability/helpers';

jest.setTimeout(300_000);

/**
 * Newest and oldest of the catalogued Dex versions from 2.30 (one per entrypoint style: the Go
 * docker-entrypoint, the shell script under busybox). Every release now has kubernetes storage
 * (the pack installs the CRDs); the conformance suite runs the older ones through runPod.
 */
const KUBERNETES_STORAGE = DEX_RELEASES.filter(r => !r.namespaceFromTokenClaim);
const VERSIONS = [
  KUBERNETES_STORAGE[0].version,
  KUBERNETES_STORAGE[KUBERNETES_STORAGE.length - 1].version,
];
const USER = {
  email: 'admin@example.com',
  password: 'correct horse battery staple',
};

/**
 * A LoadBalancer address, chosen before rendering (the issuer URL and certificates name it) and
 * asked for with spec.loadBalancerIP, as with MetalLB; the node's range is 127.128.0.0/10.
 */
const octet = (n: number) => Math.floor(Math.random() * n);
const loadBalancerIP = () =>
  `127.${128 + octet(64)}.${octet(256)}.${1 + octet(254)}`;

let cluster: LocalCluster;
let kc: KubeConfig;
let startSeconds: number;
/** Every version's pack, applied at once: their pods start side by side. */
const installs = new Map<string, Promise<Installed>>();

async function deploymentReady(
  namespace: string,
  name: string,
): Promise<Record<string, any>> {
  const k8s = await clientNode();
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  // Generous: the authenticator waits out its crash-loop back-off (10, 20, 40, 80 s) while Dex is not ready.
  const deadline = Date.now() + 240_000;
  for (;;) {
    const d = await apps.readNamespacedDeployment({ name, namespace });
    if (d.status?.readyReplicas === 1) return d;
    if (Date.now() > deadline) {
      const core = kc.makeApiClient(k8s.CoreV1Api);
      const pods = await core.listNamespacedPod({ namespace });
      const events = await core.listNamespacedEvent({ namespace });
      throw new Error(
        `Deployment ${name} not ready within 240 s: ${JSON.stringify(d.status)}\nPods: ${JSON.stringify(
          pods.items.map(p => [p.metadata?.name, p.status?.containerStatuses]),
        )}\nEvents:\n${events.items.map(e => `${e.involvedObject.name} ${e.reason}: ${e.message}`).join('\n')}`,
      );
    }
    await new Promise(r => setTimeout(r, 500));
  }
}

beforeAll(async () => {
  const began = Date.now();
  cluster = await startLocalCluster({ node: true });
  startSeconds = (Date.now() - began) / 1000;
  kc = await adminKubeConfig(cluster);
  for (const version of VERSIONS) {
    const installed = install(version);
    installed.catch(() => undefined); // reported by the version's own beforeAll
    installs.set(version, installed);
  }
});

afterAll(async () => {
  await cluster?.stop();
});

it('starts the local cluster with its node', () => {
  // eslint-disable-next-line no-console
  console.log(
    `local cluster with the node (etcd, apiserver, controllers, node) started in ${startSeconds.toFixed(1)} s`,
  );
  expect(cluster.node?.name).toBe('local-node');
});

/** Renders and applies the pack for one Dex version, in its own namespace with its own addresses. */
async function install(version: string): Promise<Installed> {
  const dexIP = loadBalancerIP();
  const authenticatorIP = loadBalancerIP();
  const spec = withDefaults({
    cluster: 'local',
    namespace: `dex-in-cluster-${version.replace(/\./g, '-')}`,
    kubernetesId: 'in-cluster',
    clientId: 'kubernetes',
    dex: {
      version,
      issuerUrl: `https://${dexIP}:${DEX_HTTPS_PORT}/dex`,
      exposure: { serviceType: 'LoadBalancer' },
      storage: 'kubernetes',
    },
    authenticator: {
      enabled: true,
      version: AUTHENTICATOR_RELEASES[0].version,
      url: `https://${authenticatorIP}:${AUTHENTICATOR_PORT}`,
      exposure: { serviceType: 'LoadBalancer' },
      apiServerUrl: cluster.server,
      apiServerCaPem: cluster.caPem,
    },
    staticUsers: [
      {
        email: USER.email,
        username: 'admin',
        passwordRef: { name: 'users', key: 'admin' },
      },
    ],
    kubernetesVersion: cluster.version,
  });
  const problems = validateSpec(spec);
  if (problems.length)
    throw new Error(`the spec is invalid: ${JSON.stringify(problems)}`);
  const material = prepareMaterial(spec, {
    referenced: { 'users/admin': USER.password },
  }).material;
  const objects: KubeObject[] = render(spec, material).map(o =>
    o.kind === 'Service' && (o.spec as any)?.type === 'LoadBalancer'
      ? {
          ...o,
          spec: {
            ...(o.spec as object),
            loadBalancerIP:
              o.metadata.name === objectNames(spec).dexService
                ? dexIP
                : authenticatorIP,
          },
        }
      : o,
  );
  const owner = { instance: spec.instance, kubernetesId: spec.kubernetesId };
  await applyObjects(
    kc,
    objects.filter(o => o.kind === 'Namespace'),
    { owner },
  );
  await applyObjects(
    kc,
    objects.filter(o => o.kind !== 'Namespace'),
    { owner },
  );
  return { spec, material, dexIP, authenticatorIP };
}

interface Installed {
  spec: PackSpec;
  material: PackMaterial;
  dexIP: string;
  authenticatorIP: string;
}

describe.each(VERSIONS)('Dex %s', version => {
  let spec: PackSpec;
  let material: PackMaterial;
  let dexIP: string;
  let authenticatorIP: string;

  beforeAll(async () => {
    ({ spec, material, dexIP, authenticatorIP } = await installs.get(version)!);
  });

  it('runs Dex and the authenticator from their rendered Deployments: Ready 1/1', async () => {
    const dex = await deploymentReady(
      spec.namespace,
      objectNames(spec).dexDeployment,
    );
    const authenticator = await deploymentReady(
      spec.namespace,
      objectNames(spec).authenticator,
    );
    expect([dex.status.readyReplicas, dex.spec.replicas]).toEqual([1, 1]);
    expect([
      authenticator.status.readyReplicas,
      authenticator.spec.replicas,
    ]).toEqual([1, 1]);
    // Dex started the first time: the pack's CRDs were served before its Deployment existed.
    const k8s = await clientNode();
    const pods = await kc.makeApiClient(k8s.CoreV1Api).listNamespacedPod({
      namespace: spec.namespace,
      labelSelector: Object.entries(selector(spec, 'dex'))
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    });
    expect(
      pods.items.map(p => p.status?.containerStatuses?.[0]?.restartCount),
    ).toEqual([0]);
  });

  it("serves Dex's discovery on its LoadBalancer address over TLS verified with the pack's CA", async () => {
    const k8s = await clientNode();
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const service = await core.readNamespacedService({
      name: objectNames(spec).dexService,
      namespace: spec.namespace,
    });
    expect(service.status?.loadBalancer?.ingress?.[0]?.ip).toBe(dexIP);
    const res = await httpsRequest(
      `https://${dexIP}:${DEX_HTTPS_PORT}/dex/.well-known/openid-configuration`,
      { caPem: material.ca.certPem },
    );
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).issuer).toBe(spec.dex.issuerUrl);
  });

  it("logs a user in through the authenticator's LoadBalancer address and Dex's (pod to LoadBalancer egress)", async () => {
    const login = await formLogin({
      startUrl: `https://${authenticatorIP}:${AUTHENTICATOR_PORT}/`,
      caPem: material.ca.certPem,
      username: USER.email,
      password: USER.password,
    });
    expect(
      login.visited.some(v =>
        v.startsWith(`POST https://${dexIP}:${DEX_HTTPS_PORT}/dex/auth/`),
      ),
    ).toBe(true);
    expect(login.status).toBe(200);
    // The kubeconfig page: the ID token the authenticator's pod got from Dex's token endpoint
    // through the LoadBalancer address.
    const token =
      /<div id="IDToken"[\s\S]*?<code>\s*([\w-]+\.[\w-]+\.[\w-]+)/.exec(
        login.body,
      )?.[1];
    expect(token && jwtClaims(token)).toMatchObject({
      aud: 'kubernetes',
      email: USER.email,
    });
  });

  it('keeps Dex state through the rendered ServiceAccount, which cannot read Secrets', async () => {
    expect(
      await dexStorageObjects(kc, spec.namespace, 'signingkeies'),
    ).toHaveLength(1);

    const may = dexServiceAccountMay(kc, spec);
    expect({
      readSecret: await may({
        verb: 'get',
        resource: 'secrets',
        namespace: spec.namespace,
      }),
      listSecretsHere: await may({
        verb: 'list',
        resource: 'secrets',
        namespace: spec.namespace,
      }),
      listSecrets: await may({ verb: 'list', resource: 'secrets' }),
    }).toEqual({
      readSecret: false,
      listSecretsHere: false,
      listSecrets: false,
    });
  });
});
