/**
 * Real Dex binaries against the real local kube-apiserver: Dex keeps its state in the cluster
 * (kubernetes storage, CRDs) and serves discovery over TLS verified against a test CA; the
 * apiserver, started with --oidc-* flags naming that Dex, accepts Dex's ID tokens.
 *
 * Order matters: the apiserver needs Dex's issuer URL at start and Dex's storage needs the
 * apiserver, so Dex's port is chosen first. Dex 2.28.0 runs first, while no dex.coreos.com CRD
 * exists yet (it could reuse the v1 CRDs a newer Dex created).
 */
import YAML from 'yaml';
import { LocalCluster, startLocalCluster } from './cluster';
import { loopbackPki, TestPki } from './certs';
import { LocalDex, startDex } from './dex';
import { httpsRequest } from './https';
import {
  bcryptHash,
  jwtClaims,
  passwordGrant,
  selfSubjectReview,
} from './oidc';
import { freePort } from './process';

jest.setTimeout(180_000);

const USER = {
  email: 'jane@example.com',
  username: 'jane',
  userID: '0a6c5f2e-jane',
  password: 'correct horse battery staple',
};
const CLIENTS = {
  kubernetes: 'kubernetes-secret-0123456789',
  other: 'other-secret-0123456789',
};

let pki: TestPki;
let passwordHash: string;
let dexPort: number;
let cluster: LocalCluster;
const running: LocalDex[] = [];

const issuerAt = (port: number) => `https://127.0.0.1:${port}/dex`;

async function admin(method: string, path: string, body?: unknown) {
  const res = await httpsRequest(`${cluster.server}${path}`, {
    caPem: cluster.caPem,
    method,
    headers: {
      authorization: `Bearer ${cluster.token}`,
      'content-type': 'application/json',
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: res.body };
}

/** The cluster's admin kubeconfig with `namespace` as the context's: Dex's kubernetes storage writes there. */
async function kubeconfigIn(namespace: string): Promise<string> {
  const created = await admin('POST', '/api/v1/namespaces', {
    metadata: { name: namespace },
  });
  expect([201, 409]).toContain(created.status);
  const kubeconfig = YAML.parse(cluster.kubeconfig);
  kubeconfig.contexts[0].context.namespace = namespace;
  return YAML.stringify(kubeconfig);
}

/** A minimal Dex config: https on `port`, one static user and two clients, password grant on. */
function dexConfig(port: number, storage: Record<string, unknown>): string {
  return YAML.stringify({
    issuer: issuerAt(port),
    storage,
    web: { https: `127.0.0.1:${port}`, tlsCert: 'tls.crt', tlsKey: 'tls.key' },
    logger: { level: 'debug' },
    oauth2: { passwordConnector: 'local', skipApprovalScreen: true },
    enablePasswordDB: true,
    staticPasswords: [
      {
        email: USER.email,
        username: USER.username,
        userID: USER.userID,
        hash: passwordHash,
      },
    ],
    staticClients: Object.entries(CLIENTS).map(([id, secret]) => ({
      id,
      name: id,
      secret,
      redirectURIs: [`https://${id}.example.com/callback`],
    })),
  });
}

/** Relative names: written into Dex's own folder, which is its working directory. */
const tlsFiles = () => ({ 'tls.crt': pki.certPem, 'tls.key': pki.keyPem });

async function runDex(
  version: string,
  port: number,
  storage: 'memory' | { namespace: string },
) {
  const files: Record<string, string> = tlsFiles();
  let storageConfig: Record<string, unknown> = { type: 'memory' };
  if (storage !== 'memory') {
    files.kubeconfig = await kubeconfigIn(storage.namespace);
    storageConfig = {
      type: 'kubernetes',
      config: { kubeConfigFile: 'kubeconfig' },
    };
  }
  const dex = await startDex({
    version,
    configYaml: dexConfig(port, storageConfig),
    caPem: pki.caPem,
    files,
  });
  running.push(dex);
  return dex;
}

async function stopDex(dex: LocalDex | undefined) {
  if (!dex) return;
  running.splice(running.indexOf(dex), 1);
  await dex.stop();
}

const grant = (issuer: string, clientId: keyof typeof CLIENTS) =>
  passwordGrant({
    issuer,
    caPem: pki.caPem,
    clientId,
    clientSecret: CLIENTS[clientId],
    username: USER.email,
    password: USER.password,
  });

beforeAll(async () => {
  pki = loopbackPki('dex');
  passwordHash = await bcryptHash(USER.password);
  dexPort = await freePort();
  cluster = await startLocalCluster({
    oidc: {
      issuerUrl: issuerAt(dexPort),
      clientId: 'kubernetes',
      caPem: pki.caPem,
      usernameClaim: 'email',
    },
  });
});

afterAll(async () => {
  await Promise.all(running.map(d => d.stop()));
  await cluster?.stop();
});

describe('Dex v2.28.0 (creates its CRDs as apiextensions.k8s.io/v1beta1)', () => {
  it('cannot keep its state in Kubernetes 1.35: it exits and its log names the CRD failure', async () => {
    const crd = await admin(
      'GET',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/authcodes.dex.coreos.com',
    );
    expect(crd.status).toBe(404);
    expect(
      (await admin('GET', '/apis/apiextensions.k8s.io/v1beta1')).status,
    ).toBe(404);
    const files = {
      ...tlsFiles(),
      kubeconfig: await kubeconfigIn('dex-v2-28-0'),
    };
    const config = dexConfig(await freePort(), {
      type: 'kubernetes',
      config: { kubeConfigFile: 'kubeconfig' },
    });
    const error = await startDex({
      version: 'v2.28.0',
      configYaml: config,
      caPem: pki.caPem,
      files,
      timeoutMs: 30_000,
    }).then(
      dex => {
        running.push(dex);
        return undefined;
      },
      (e: Error) => e,
    );
    // Restarted like a crash-looping pod, it fails the same way each time.
    expect(error?.message).toMatch(
      /^Dex v2\.28\.0: dex \(started 3 times\) exited \(exit code [1-9]\d*\) before serving discovery/,
    );
    // Its CRD POST goes to apiextensions.k8s.io/v1beta1, which Kubernetes no longer serves (404).
    expect(error?.message).toMatch(
      /custom resources not found, please enable the respective API group/,
    );
    expect(error?.message).toMatch(
      /failed to list connector objects from storage: .*not found/,
    );
    const after = await admin(
      'GET',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/authcodes.dex.coreos.com',
    );
    expect(after.status).toBe(404);
  });

  it('serves discovery over TLS with memory storage', async () => {
    const port = await freePort();
    const dex = await runDex('v2.28.0', port, 'memory');
    try {
      expect(dex.discovery.issuer).toBe(issuerAt(port));
      const token = await grant(dex.issuer, 'kubernetes');
      expect(jwtClaims(token)).toMatchObject({
        iss: issuerAt(port),
        aud: 'kubernetes',
        email: USER.email,
      });
    } finally {
      await stopDex(dex);
    }
  });
});

describe('Dex v2.45.1 with kubernetes storage, trusted by the kube-apiserver', () => {
  let dex: LocalDex;
  beforeAll(async () => {
    dex = await runDex('v2.45.1', dexPort, { namespace: 'dex-v2-45-1' });
  });
  afterAll(() => stopDex(dex));

  it('serves its discovery over TLS verified against the test CA, with the configured issuer', async () => {
    expect(dex.discovery.issuer).toBe(issuerAt(dexPort));
    expect(dex.discovery.token_endpoint).toBe(`${issuerAt(dexPort)}/token`);
    expect(dex.discovery.grant_types_supported).toContain('password');
    // Its state is in the cluster: the CRDs exist and the signing keys are stored in its namespace.
    const keys = await admin(
      'GET',
      '/apis/dex.coreos.com/v1/namespaces/dex-v2-45-1/signingkeies',
    );
    expect(keys.status).toBe(200);
    expect(JSON.parse(keys.body).items.length).toBe(1);
  });

  it('issues an ID token by the password grant that the apiserver accepts as the user', async () => {
    const token = await grant(dex.issuer, 'kubernetes');
    expect(jwtClaims(token)).toMatchObject({
      iss: issuerAt(dexPort),
      aud: 'kubernetes',
      email: USER.email,
      email_verified: true,
    });
    // The apiserver fetches Dex's discovery and keys asynchronously: retried for up to 20 s.
    const review = await selfSubjectReview(
      cluster.server,
      cluster.caPem,
      token,
      { retryMs: 20_000 },
    );
    expect(review.username).toBe(USER.email);
    expect(review.groups).toContain('system:authenticated');
  });

  it('refuses a token Dex issued to another client (401)', async () => {
    const token = await grant(dex.issuer, 'other');
    expect(jwtClaims(token).aud).toBe('other');
    await expect(
      selfSubjectReview(cluster.server, cluster.caPem, token, { retryMs: 0 }),
    ).rejects.toThrow(/HTTP 401/);
  });

  it("fails to start with the reason from Dex's log when Dex exits", async () => {
    const config = dexConfig(await freePort(), { type: 'no-such-storage' });
    await expect(
      startDex({
        version: 'v2.45.1',
        configYaml: config,
        caPem: pki.caPem,
        files: tlsFiles(),
        restarts: 0,
      }),
    ).rejects.toThrow(
      /^Dex v2\.45\.1: dex exited \(exit code [1-9]\d*\) before serving discovery[\s\S]*no-such-storage/,
    );
  });
});

// v2.30.0: the oldest Dex whose CRDs are apiextensions.k8s.io/v1; v2.44.0: built with api/v2 v2.4.0.
describe.each(['v2.30.0', 'v2.44.0'])(
  'Dex %s with kubernetes storage',
  version => {
    it('serves discovery over TLS with the configured issuer and issues tokens', async () => {
      const port = await freePort();
      const namespace = `dex-${version.replace(/\./g, '-')}`;
      const dex = await runDex(version, port, { namespace });
      try {
        expect(dex.discovery.issuer).toBe(issuerAt(port));
        const token = await grant(dex.issuer, 'kubernetes');
        expect(jwtClaims(token)).toMatchObject({
          iss: issuerAt(port),
          aud: 'kubernetes',
          email: USER.email,
        });
        const keys = await admin(
          'GET',
          `/apis/dex.coreos.com/v1/namespaces/${namespace}/signingkeies`,
        );
        expect(JSON.parse(keys.body).items.length).toBe(1);
      } finally {
        await stopDex(dex);
      }
    });
  },
);
