/**
 * One suite of pack checks run against every catalogued Dex version (the habit of Dex's own
 * storage conformance suite). Each version runs as its pod would: the real binary started by
 * runPod from the objects the pack rendered (the image's entrypoint with the container's args,
 * env and volumes from the rendered Secrets/ConfigMaps, read-only root filesystem, the rendered
 * ServiceAccount's token for kubernetes storage). For each: the objects are applied to a real
 * kube-apiserver, discovery is served over TLS verified with the pack's CA, a user logs in, and
 * kube-apiservers started with the rendered flags and the rendered AuthenticationConfiguration
 * accept the ID token. Both authenticator versions run from the rendered objects too, and a
 * login through their page yields a kubeconfig page whose token the apiserver accepts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  LocalCluster,
  RunPodOptions,
  RunningPod,
  freePort,
  httpsRequest,
  jwtClaims,
  passwordGrant,
  runPod,
  selfSubjectReview,
  sharedLocalCluster,
  startLocalCluster,
  formLogin,
} from '@backstage-dex/local-cluster';
import {
  AUTHENTICATOR_RELEASES,
  DEX_RELEASES,
  KUBECTL_CLIENT_ID,
  PackSpec,
  compareVersions,
  findDexRelease,
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
import { apiServerSettings } from './pack/apiServer';
import { PackMaterial, prepareMaterial } from './pack/material';
import {
  AUTHENTICATOR_PORT,
  DEX_HTTPS_PORT,
  DEX_TELEMETRY_PORT,
  authenticatorUrl,
  objectNames,
} from './pack/names';
import { KubeObject, render } from './pack/render';
import { adminKubeConfig } from './reliability/helpers';

jest.setTimeout(300_000);

const USER = {
  email: 'admin@example.com',
  password: 'correct horse battery staple',
  group: 'platform-admins',
};
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dex-conformance-'));

/** The apiserver with the rendered --oidc-* flags. */
let flagsCluster: LocalCluster;
/** The apiserver with the rendered AuthenticationConfiguration (it cannot be combined with flags). */
let authConfigCluster: LocalCluster;
/**
 * The cluster that holds every version's objects and that Dex's kubernetes storage talks to
 * (with the rendered ServiceAccount's token): the worker's shared one, never restarted, so its
 * CRDs' storage is not re-initialising when a Dex starts.
 */
let storageCluster: LocalCluster;
let kc: KubeConfig;
let ports: { dex: number; telemetry: number; authenticator: number };
let caFile: string;
let material: PackMaterial;

/**
 * Which authenticator runs with each Dex version, and whether under a web path prefix: every
 * pairing of the two authenticator versions with and without a prefix, each across old and new
 * Dex releases (one authenticator pod per version rather than both: a pod start and a login each).
 */
const authenticatorFor = (version: string) => {
  const i = DEX_RELEASES.findIndex(r => r.version === version);
  return {
    version: AUTHENTICATOR_RELEASES[i % AUTHENTICATOR_RELEASES.length].version,
    prefix: Math.floor(i / 2) % 2 ? '' : '/kubernetes/login',
  };
};
const authenticatorPrefix = (version: string) =>
  authenticatorFor(version).prefix;

function specFor(
  version: string,
  authenticatorVersion = AUTHENTICATOR_RELEASES[0].version,
): PackSpec {
  const release = findDexRelease(version)!;
  return withDefaults({
    cluster: 'local',
    namespace: `conformance-${version.replace(/\./g, '-')}`,
    kubernetesId: 'conformance',
    clientId: 'kubernetes',
    dex: {
      version,
      issuerUrl: `https://127.0.0.1:${ports.dex}/dex`,
      exposure: { serviceType: 'ClusterIP' },
      // Every release: the pack installs the CRDs, so even those that would create v1beta1 CRDs
      // (before 2.30; gone since Kubernetes 1.22) only list them.
      storage: 'kubernetes',
    },
    authenticator: {
      enabled: true,
      version: authenticatorVersion,
      url: `https://127.0.0.1:${ports.authenticator}${authenticatorPrefix(version)}`,
      exposure: { serviceType: 'ClusterIP' },
      // What the scaffolder action fills from the target cluster's configuration.
      ...(flagsCluster
        ? {
            apiServerUrl: flagsCluster.server,
            apiServerCaPem: flagsCluster.caPem,
          }
        : {}),
    },
    // Braces in a value: the images from 2.28 run the config through gomplate first; Dex must still start.
    staticClients: [
      {
        id: 'other-app',
        name: 'Other {{ app }}',
        redirectURIs: ['https://other.example.com/callback'],
      },
    ],
    staticUsers: [
      {
        email: USER.email,
        username: 'admin',
        passwordRef: { name: 'users', key: 'admin' },
        ...(release.staticUserGroups ? { groups: [USER.group] } : {}),
      },
    ],
    kubernetesVersion: flagsCluster?.version,
    apiServerCaFile: caFile,
  });
}

const portOf = (server: string) => Number(new URL(server).port);

/**
 * Runs a Deployment of the rendered objects once and waits for its readinessProbe: the first
 * start must succeed (no restart, as a kubelet would need if the pod exited). Its startupProbe,
 * where rendered, must pass then too (the path is served by this version).
 */
async function runReady(options: RunPodOptions): Promise<RunningPod> {
  const pod = await runPod(options);
  try {
    await pod.ready(60_000);
    const startup = await pod.probe('startup');
    if (startup && !startup.ok)
      throw new Error(`startup probe failed once ready: ${startup.reason}`);
    return pod;
  } catch (e) {
    await pod.stop();
    throw e;
  }
}

/** The ServiceAccount token a pod of the rendered Deployment gets (TokenRequest, as the kubelet asks for it). */
async function serviceAccountToken(spec: PackSpec): Promise<string> {
  const k8s = await clientNode();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const res = await core.createNamespacedServiceAccountToken({
    name: objectNames(spec).serviceAccount,
    namespace: spec.namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  return res.status!.token!;
}

/** The ID token an authenticator's kubeconfig page shows (its "ID Token" tab). */
function idTokenOnPage(html: string): string {
  const token =
    /<div id="IDToken"[\s\S]*?<code>\s*([\w-]+\.[\w-]+\.[\w-]+)/.exec(
      html,
    )?.[1];
  if (!token)
    throw new Error(
      `no ID token on the authenticator's page:\n${html.slice(0, 2000)}`,
    );
  return token;
}

beforeAll(async () => {
  ports = {
    dex: await freePort(),
    telemetry: await freePort(),
    authenticator: await freePort(),
  };
  caFile = path.join(work, 'dex-ca.crt');
  // One CA and one set of secrets for every version, so the apiservers trust each Dex in turn.
  material = prepareMaterial(specFor(DEX_RELEASES[0].version), {
    referenced: { 'users/admin': USER.password },
  }).material;
  fs.writeFileSync(caFile, material.ca.certPem);
  // Every version has the same issuer and claims, so one pair of apiservers serves them all.
  flagsCluster = await startLocalCluster({
    apiServerFlags: apiServerSettings(
      specFor(DEX_RELEASES[0].version),
      material.ca.certPem,
    ).flags,
  });
  const settings = apiServerSettings(
    specFor(DEX_RELEASES[0].version),
    material.ca.certPem,
  );
  authConfigCluster = await startLocalCluster({
    authenticationConfig: settings.authenticationConfiguration,
  });
  storageCluster = await sharedLocalCluster();
  kc = await adminKubeConfig(storageCluster);
});

afterAll(async () => {
  await Promise.all([flagsCluster?.stop(), authConfigCluster?.stop()]);
  fs.rmSync(work, { recursive: true, force: true });
});

it('writes the AuthenticationConfiguration version this Kubernetes reads', () => {
  const settings = apiServerSettings(
    specFor(DEX_RELEASES[0].version),
    material.ca.certPem,
  );
  expect(flagsCluster.version).toMatch(/^v1\.3[4-9]\./);
  expect(settings.authenticationConfigurationApiVersion).toBe(
    'apiserver.config.k8s.io/v1',
  );
});

it("records how each Dex image starts as its release's Dockerfile says (local-cluster's images.json)", () => {
  const images = JSON.parse(
    fs.readFileSync(
      path.join(
        path.dirname(
          require.resolve('@backstage-dex/local-cluster/package.json'),
        ),
        'images.json',
      ),
      'utf8',
    ),
  ).images;
  for (const release of DEX_RELEASES) {
    const entrypoint: string[] = images[release.image].entrypoint;
    expect({
      version: release.version,
      dexItself: entrypoint.join(' ') === 'dex',
    }).toEqual({
      version: release.version,
      dexItself: release.imageEntrypoint === 'dex',
    });
  }
});

it('runs both authenticator versions with and without a web path prefix, each with old and new Dex releases', () => {
  const pairs = DEX_RELEASES.map(r => ({
    dex: r.version,
    ...authenticatorFor(r.version),
  }));
  for (const { version } of AUTHENTICATOR_RELEASES) {
    for (const prefixed of [true, false]) {
      const runs = pairs.filter(
        p => p.version === version && Boolean(p.prefix) === prefixed,
      );
      expect({ version, prefixed, runs: runs.length > 0 }).toEqual({
        version,
        prefixed,
        runs: true,
      });
    }
    const dexVersions = pairs
      .filter(p => p.version === version)
      .map(p => p.dex);
    // Across the catalogue: a release before the templating entrypoint (2.28) and a current one.
    expect(dexVersions.some(v => compareVersions(v, '2.28.0') < 0)).toBe(true);
    expect(dexVersions.some(v => compareVersions(v, '2.44.0') >= 0)).toBe(true);
  }
});

describe.each(DEX_RELEASES.map(r => r.version))('Dex %s', version => {
  const release = findDexRelease(version)!;
  let spec: PackSpec;
  let objects: KubeObject[];
  let dex: RunningPod | undefined;
  let applied: string[];

  beforeAll(async () => {
    spec = specFor(version);
    const problems = validateSpec(spec);
    if (problems.length)
      throw new Error(
        `the conformance spec is invalid: ${JSON.stringify(problems)}`,
      );
    objects = render(spec, material);
    await applyObjects(
      kc,
      objects.filter(o => o.kind === 'Namespace'),
      { owner: { instance: spec.instance, kubernetesId: spec.kubernetesId } },
    );
    const result = await applyObjects(
      kc,
      objects.filter(o => o.kind !== 'Namespace'),
      { owner: { instance: spec.instance, kubernetesId: spec.kubernetesId } },
    );
    applied = result.objects
      .map(o => `${o.kind}/${o.name}: ${o.action}`)
      .sort();
    const inCluster = spec.dex.storage === 'kubernetes';
    dex = await runReady({
      objects,
      deployment: objectNames(spec).dexDeployment,
      ports: {
        [DEX_HTTPS_PORT]: ports.dex,
        ...(release.telemetryHealth
          ? { [DEX_TELEMETRY_PORT]: ports.telemetry }
          : {}),
      },
      ...(inCluster
        ? {
            egress: [portOf(storageCluster.server)],
            apiServer: {
              port: portOf(storageCluster.server),
              caPem: storageCluster.caPem,
              token: await serviceAccountToken(spec),
              // Dex 2.21 writes "https://" + host + ":" + port without brackets: a plain IPv4 host.
              ...(compareVersions(version, '2.25.0') < 0
                ? { host: '127.0.0.1' }
                : {}),
            },
          }
        : {}),
    });
    // The apiservers keep the keys of the Dex they first fetched for this issuer (go-oidc v2
    // caches them for the max-age of Dex's /keys, at least 2 minutes): restart them now that this
    // version serves, so each is checked as a fresh install would be, and their first discovery
    // (made at start, then only every 10 s) finds it.
    await Promise.all(
      [flagsCluster, authConfigCluster].map(async c => {
        await c.stopApiServer();
        await c.startApiServer();
      }),
    );
  });

  afterAll(() => dex?.stop());

  it('renders objects the real kube-apiserver accepts (server-side apply)', () => {
    // Dex's CRDs are shared by every installation: the first run on the cluster creates them
    // (here the first version, or another test file of this worker), the others find them as the
    // pack renders them.
    const crds = objects.filter(o => o.kind === 'CustomResourceDefinition');
    expect(crds.length).toBeGreaterThan(0);
    const crdAction =
      version === DEX_RELEASES[0].version
        ? /^(create|unchanged)$/
        : /^unchanged$/;
    const appliedCrds = applied.filter(a =>
      a.startsWith('CustomResourceDefinition/'),
    );
    expect(appliedCrds.map(a => a.replace(/: \w+$/, ''))).toEqual(
      crds.map(o => `CustomResourceDefinition/${o.metadata.name}`).sort(),
    );
    for (const a of appliedCrds)
      expect(a.replace(/^.*: /, '')).toMatch(crdAction);
    expect(
      applied.filter(a => !a.startsWith('CustomResourceDefinition/')),
    ).toEqual(
      objects
        .filter(
          o => o.kind !== 'Namespace' && o.kind !== 'CustomResourceDefinition',
        )
        .map(o => `${o.kind}/${o.metadata.name}: create`)
        .sort(),
    );
  });

  it('starts the first time on the CRDs the pack installed, without trying to create them', () => {
    const log = dex!.logs();
    expect(log).not.toMatch(
      /attempting to create|creating custom resource|failed to create custom resource/i,
    );
    // Each kind it stores (eight in 2.21, ten from 2.25) is listed at start and found.
    const found = log
      .split('\n')
      .filter(l => /already available, skipping create/i.test(l))
      .map(l => /([a-z0-9]+\.dex\.coreos\.com)/.exec(l)?.[1]);
    expect(found.length).toBeGreaterThanOrEqual(8);
    expect(
      found.filter(
        name =>
          !objects.some(
            o =>
              o.kind === 'CustomResourceDefinition' && o.metadata.name === name,
          ),
      ),
    ).toEqual([]);
  });

  it('has only namespaced rights on its own resources: no CRDs, no Secrets, no other namespace (SubjectAccessReview)', async () => {
    const may = dexServiceAccountMay(kc, spec);
    const crds = {
      group: 'apiextensions.k8s.io',
      resource: 'customresourcedefinitions',
    };
    expect({
      createCrd: await may({ verb: 'create', ...crds }),
      getCrd: await may({ verb: 'get', ...crds }),
      readSecret: await may({
        verb: 'get',
        resource: 'secrets',
        namespace: spec.namespace,
      }),
      listSecrets: await may({ verb: 'list', resource: 'secrets' }),
      keysHere: await may({
        verb: 'list',
        group: 'dex.coreos.com',
        resource: 'signingkeies',
        namespace: spec.namespace,
      }),
      keysElsewhere: await may({
        verb: 'list',
        group: 'dex.coreos.com',
        resource: 'signingkeies',
        namespace: 'default',
      }),
      keysClusterWide: await may({
        verb: 'list',
        group: 'dex.coreos.com',
        resource: 'signingkeies',
      }),
    }).toEqual({
      createCrd: false,
      getCrd: false,
      readSecret: false,
      listSecrets: false,
      keysHere: true,
      keysElsewhere: false,
      keysClusterWide: false,
    });
  });

  it('writes an authorization request to its storage when a login starts', async () => {
    // Dex's health check also writes (and removes) authorization requests: find this one by its state.
    const ours = async () =>
      (
        await dexStorageObjects<{ clientID?: string; state?: string }>(
          kc,
          spec.namespace,
          'authrequests',
        )
      ).filter(r => r.clientID === 'kubernetes' && r.state === 'conformance');
    expect(await ours()).toEqual([]);
    const query = new URLSearchParams({
      client_id: 'kubernetes',
      redirect_uri: `${authenticatorUrl(spec)}/callback/local`,
      response_type: 'code',
      scope: 'openid email',
      state: 'conformance',
    });
    // As a browser: follow Dex's redirects (to its one connector) up to the login form.
    let url = `https://127.0.0.1:${ports.dex}/dex/auth?${query}`;
    let res = await httpsRequest(url, { caPem: material.ca.certPem });
    for (
      let hops = 0;
      res.status >= 300 && res.status < 400 && hops < 3;
      hops++
    ) {
      url = new URL(String(res.headers.location), url).toString();
      res = await httpsRequest(url, { caPem: material.ca.certPem });
    }
    expect({
      status: res.status,
      form: /name="password"/.test(res.body),
    }).toEqual({ status: 200, form: true });
    expect(await ours()).toHaveLength(1);
  });

  it('keeps its state in the cluster through the rendered ServiceAccount only', async () => {
    // Dex's kubernetes storage wrote its signing keys as a custom resource in the pack's namespace.
    expect(
      await dexStorageObjects(kc, spec.namespace, 'signingkeies'),
    ).toHaveLength(1);
  });

  it('serves discovery over TLS verified with the pack CA', async () => {
    const res = await httpsRequest(
      `https://127.0.0.1:${ports.dex}/dex/.well-known/openid-configuration`,
      { caPem: material.ca.certPem },
    );
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).issuer).toBe(
      `https://127.0.0.1:${ports.dex}/dex`,
    );
  });

  if (release.passwordGrant) {
    it('issues password-grant tokens the kube-apiservers with the rendered flags and AuthenticationConfiguration accept', async () => {
      const grant = (clientId: string) =>
        passwordGrant({
          issuer: `https://127.0.0.1:${ports.dex}/dex`,
          caPem: material.ca.certPem,
          clientId,
          clientSecret: material.clientSecrets[clientId],
          username: USER.email,
          password: USER.password,
        });
      const token = await grant('kubernetes');
      for (const apiserver of [flagsCluster, authConfigCluster]) {
        const review = await selfSubjectReview(
          apiserver.server,
          apiserver.caPem,
          token,
        );
        expect(review.username).toBe(USER.email);
        // Static users have groups from 2.45; the apiserver adds the pack's prefix.
        expect(review.groups).toEqual(
          expect.arrayContaining(
            release.staticUserGroups ? [`oidc:${USER.group}`] : [],
          ),
        );
      }
      // kubectl's public client (a downloaded kubeconfig's kubelogin), no secret: with the pack
      // client's audience (cross-client trust) the apiservers accept its token; without, not.
      const kubectlGrant = (scope: string) =>
        passwordGrant({
          issuer: `https://127.0.0.1:${ports.dex}/dex`,
          caPem: material.ca.certPem,
          clientId: KUBECTL_CLIENT_ID,
          clientSecret: '',
          username: USER.email,
          password: USER.password,
          scope,
        });
      const kubectlToken = await kubectlGrant(
        'openid email groups audience:server:client_id:kubernetes',
      );
      const ownAudience = await kubectlGrant('openid email groups');
      for (const apiserver of [flagsCluster, authConfigCluster]) {
        const review = await selfSubjectReview(
          apiserver.server,
          apiserver.caPem,
          kubectlToken,
        );
        expect(review.username).toBe(USER.email);
        await expect(
          selfSubjectReview(apiserver.server, apiserver.caPem, ownAudience, {
            retryMs: 0,
          }),
        ).rejects.toThrow(/401/);
      }
      // A token issued to another client of the same Dex is not for Kubernetes.
      const otherToken = await grant('other-app');
      for (const apiserver of [flagsCluster, authConfigCluster]) {
        await expect(
          selfSubjectReview(apiserver.server, apiserver.caPem, otherToken, {
            retryMs: 0,
          }),
        ).rejects.toThrow(/401/);
      }
    });
  }

  describe(`with dex-k8s-authenticator ${authenticatorFor(version).version}`, () => {
    const authenticatorVersion = authenticatorFor(version).version;
    let authenticator: RunningPod | undefined;
    afterAll(() => authenticator?.stop());

    it(`starts from the rendered objects${authenticatorPrefix(version) ? ' under a web path prefix' : ''}, and a login through its page yields a token the kube-apiservers accept`, async () => {
      const withVersion = specFor(version, authenticatorVersion);
      authenticator = await runReady({
        objects: render(withVersion, material),
        deployment: objectNames(withVersion).authenticator,
        ports: { [AUTHENTICATOR_PORT]: ports.authenticator },
        egress: [ports.dex],
      });
      const page = authenticatorUrl(withVersion);
      // The user opens the authenticator, is sent to Dex's login form, and comes back to the kubeconfig page.
      const login = await formLogin({
        startUrl: `${page}/`,
        caPem: material.ca.certPem,
        username: USER.email,
        password: USER.password,
      });
      expect(
        login.visited.some(v =>
          v.startsWith(`POST https://127.0.0.1:${ports.dex}/dex/auth/`),
        ),
      ).toBe(true);
      expect({
        status: login.status,
        url: login.url.replace(/\?.*/, ''),
      }).toEqual({ status: 200, url: `${page}/callback/local` });
      // The kubeconfig it hands out points at the cluster and trusts its CA.
      expect(login.body).toContain(`--server=${flagsCluster.server}`);
      expect(login.body).toContain(flagsCluster.caPem.trim().split('\n')[1]);
      const token = idTokenOnPage(login.body);
      expect(jwtClaims(token)).toMatchObject({
        aud: 'kubernetes',
        email: USER.email,
      });
      for (const apiserver of [flagsCluster, authConfigCluster]) {
        const review = await selfSubjectReview(
          apiserver.server,
          apiserver.caPem,
          token,
        );
        expect(review.username).toBe(USER.email);
      }
    });
  });
});
