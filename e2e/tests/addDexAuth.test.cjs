// What a developer does in the browser: run "Add Dex auth", see the installation on the entity
// page, and log in the way users will: the authenticator's page, Dex's login form, the kubeconfig
// page, and kubectl with the ID token it shows.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const YAML = require('yaml');
const {
  APP_URL,
  launchBrowser,
  kubeConfig,
  screenshot,
} = require('./support.cjs');
const execFile = require('node:util').promisify(
  require('node:child_process').execFile,
);
const {
  ensureBinaries,
  freePort,
  runPod,
  startLocalCluster,
} = require('@backstage-dex/local-cluster');

const NAMESPACE = 'e2e-dex';
const DEX_HOST = 'dex.e2e.test';
const LOGIN_HOST = 'login.e2e.test';
const USER = {
  email: 'admin@e2e.test',
  password: 'correct horse battery staple',
  group: 'e2e-admins',
};
const INGRESS_IP = '203.0.113.10';

let browser;
let page;
let k;
let dexPort;
let issuer;
const cleanups = [];

/** Waits until a form field shows `value` (pickers fill themselves after their API call answers). */
async function waitForValue(selector, value) {
  await page
    .waitForFunction(
      ([sel, v]) => document.querySelector(sel)?.value === v,
      [selector, value],
      { timeout: 30_000 },
    )
    .catch(async () =>
      assert.fail(
        `${selector} shows "${await page.locator(selector).inputValue()}", expected "${value}"`,
      ),
    );
}

before(async () => {
  k = await kubeConfig();
  dexPort = await freePort();
  issuer = `https://127.0.0.1:${dexPort}/dex`;
  // What a platform engineer prepares: the namespace and the test user's password Secret.
  await k.core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
  await k.core.createNamespacedSecret({
    namespace: NAMESPACE,
    body: {
      metadata: { name: 'e2e-users' },
      stringData: { password: USER.password },
    },
  });
  browser = await launchBrowser();
  page = await browser.newPage({
    viewport: { width: 1400, height: 1100 },
    ignoreHTTPSErrors: true,
  });
});

after(async () => {
  await browser?.close();
  for (const c of cleanups.reverse()) await c();
});

test('a developer adds Dex auth through the template, and the task shows the issuer', async () => {
  await page.goto(`${APP_URL}/create`);
  await page.getByRole('button', { name: 'Choose' }).click();
  await page.locator('#root_entity').click();
  await page.locator('#root_entity').fill('payments');
  await page.getByRole('option', { name: /payments-api/ }).click();
  // The cluster picker loads /api/dex/clusters and preselects the only configured cluster.
  await waitForValue('#root_cluster', 'local');
  await page.locator('#root_namespace').fill(NAMESPACE);
  await page.getByRole('button', { name: 'Next' }).click();

  // The version picker lists what app-config.yaml allows (loaded from /api/dex/versions), with the
  // platform default chosen.
  await page
    .locator('#root_version option', { hasText: '2.45.1' })
    .waitFor({ state: 'attached', timeout: 30_000 });
  const versions = await page.locator('#root_version option').allInnerTexts();
  assert.ok(
    versions.includes('2.45.1') && versions.includes('2.30.0'),
    `versions offered: ${versions}`,
  );
  await waitForValue('#root_version', '2.45.1');
  await page.locator('#root_issuerUrl').fill(issuer);
  await page.locator('#root_ingress_enabled').check();
  await page.locator('#root_ingress_dexHost').fill(DEX_HOST);
  await page.locator('#root_ingress_authenticatorHost').fill(LOGIN_HOST);
  await page.locator('#root_testUser_enabled').check();
  await page.locator('#root_testUser_email').fill(USER.email);
  await page.locator('#root_testUser_passwordRef_name').fill('e2e-users');
  await page.locator('#root_testUser_group').fill(USER.group);
  await screenshot(page, '1-form');
  await page.getByRole('button', { name: 'Review' }).click();
  await page.getByRole('button', { name: 'Create' }).click();

  await page
    .getByText('kube-apiserver flags')
    .first()
    .waitFor({ timeout: 120_000 });
  // The task's output has one tab per text section; the flags are in their own.
  await page.getByText('kube-apiserver flags').first().click();
  await page.getByText(`--oidc-issuer-url=${issuer}`).first().waitFor();
  await screenshot(page, '2-task');
  const links = await page
    .getByRole('link', { name: /Dex issuer/ })
    .getAttribute('href');
  assert.equal(links, `${issuer}/.well-known/openid-configuration`);
});

test('the entity page card shows the endpoints, the version and the Ingress status', async () => {
  await page.goto(`${APP_URL}/catalog/default/component/payments-api`);
  await page
    .getByText('Dex authentication', { exact: true })
    .waitFor({ timeout: 60_000 });
  // Only the card shows these: the installation's endpoints, version and Ingress state.
  const card = page;
  await card
    .getByRole('link', { name: `https://${DEX_HOST}` })
    .first()
    .waitFor({ timeout: 60_000 });
  await card
    .getByRole('link', { name: `https://${LOGIN_HOST}` })
    .first()
    .waitFor();
  await card.getByText('2.45.1').first().waitFor();
  await card
    .getByText(/pending/i)
    .first()
    .waitFor();
  await screenshot(page, '3-card');

  // An Ingress controller assigns an address (written through the status subresource).
  const ingress = await k.networking.readNamespacedIngress({
    name: 'dex',
    namespace: NAMESPACE,
  });
  ingress.status = { loadBalancer: { ingress: [{ ip: INGRESS_IP }] } };
  await k.networking.replaceNamespacedIngressStatus({
    name: 'dex',
    namespace: NAMESPACE,
    body: ingress,
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    await page.reload();
    try {
      await card.getByText(INGRESS_IP).first().waitFor({ timeout: 5_000 });
      break;
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
  }
  await screenshot(page, '4-card-ingress-address');
});

/** The pack's objects as the template applied them, read back from the cluster (what its pods run from). */
async function appliedObjects() {
  const list = async (apiVersion, kind, read) =>
    (await read()).items.map(o => ({ ...o, apiVersion, kind }));
  const apps = k.kc.makeApiClient(k.k8s.AppsV1Api);
  return [
    ...(await list('apps/v1', 'Deployment', () =>
      apps.listNamespacedDeployment({ namespace: NAMESPACE }),
    )),
    ...(await list('v1', 'Secret', () =>
      k.core.listNamespacedSecret({ namespace: NAMESPACE }),
    )),
    ...(await list('v1', 'ConfigMap', () =>
      k.core.listNamespacedConfigMap({ namespace: NAMESPACE }),
    )),
    ...(await list('v1', 'ServiceAccount', () =>
      k.core.listNamespacedServiceAccount({ namespace: NAMESPACE }),
    )),
  ];
}

/** Runs a Deployment's pod until its readinessProbe passes, starting it again if it exits first (as the kubelet would). */
async function runReady(options) {
  for (let attempt = 0; ; attempt++) {
    const pod = await runPod(options);
    try {
      await pod.ready(60_000);
      cleanups.push(() => pod.stop());
      return pod;
    } catch (e) {
      await pod.stop();
      if (attempt >= 2) throw e;
    }
  }
}

test("a user logs in through the authenticator's page, and kubectl accepts the ID token it shows", async () => {
  const objects = await appliedObjects();
  const settings = (
    await k.core.readNamespacedConfigMap({
      name: 'dex-apiserver-settings',
      namespace: NAMESPACE,
    })
  ).data;
  const packCa = settings['ca.crt'];

  // Dex and the authenticator run from those objects, as their pods would (kubernetes storage in
  // this cluster through the rendered ServiceAccount's token); their ports are forwarded to loopback.
  const cluster = k.kc.getCurrentCluster();
  const apiPort = Number(new URL(cluster.server).port);
  const saToken = await k.core.createNamespacedServiceAccountToken({
    name: 'dex',
    namespace: NAMESPACE,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const dex = await runReady({
    objects,
    deployment: 'dex',
    ports: { 5556: dexPort, 5558: await freePort() },
    egress: [apiPort],
    apiServer: {
      port: apiPort,
      caPem: process.env.E2E_CLUSTER_CA,
      token: saToken.status.token,
    },
  });
  const authenticatorPort = await freePort();
  await runReady({
    objects,
    deployment: 'dex-authenticator',
    ports: { 5555: authenticatorPort },
    egress: [dexPort],
  });

  // A kube-apiserver started with the rendered --oidc-* flags (the CA file where the flag says).
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-login-'));
  cleanups.push(() => fs.rmSync(work, { recursive: true, force: true }));
  const caFile = path.join(work, 'dex-ca.crt');
  fs.writeFileSync(caFile, packCa);
  const flags = settings['oidc-flags']
    .split('\n')
    .map(f =>
      f.startsWith('--oidc-ca-file=') ? `--oidc-ca-file=${caFile}` : f,
    );
  const apiserver = await startLocalCluster({ apiServerFlags: flags });
  cleanups.push(() => apiserver.stop());

  // The Ingress in front of the authenticator: the browser's requests for its host reach the pod.
  await page.route(`https://${LOGIN_HOST}/**`, async route => {
    const url = new URL(route.request().url());
    url.host = `127.0.0.1:${authenticatorPort}`;
    const response = await route.fetch({
      url: url.toString(),
      maxRedirects: 0,
    });
    await route.fulfill({ response });
  });

  // Its page lists the cluster (with one cluster, its root sends the user straight on to Dex).
  await page.goto(`https://${LOGIN_HOST}/clusters`);
  await page.getByText('Generate Kubernetes Token').waitFor();
  await screenshot(page, '5-authenticator');
  await page.getByRole('button', { name: 'local' }).click();
  // Dex's login form, served by the Dex pod.
  await page.locator('#login').waitFor({ timeout: 30_000 });
  assert.equal(new URL(page.url()).origin, `https://127.0.0.1:${dexPort}`);
  await page.locator('#login').fill(USER.email);
  await page.locator('#password').fill(USER.password);
  await screenshot(page, '6-dex-login');
  await page.locator('#submit-login').click();
  // Back on the authenticator: its callback exchanged the code and shows the kubeconfig.
  await page.waitForURL(`https://${LOGIN_HOST}/callback/local**`, {
    timeout: 30_000,
  });
  await page.getByText(cluster.server).first().waitFor({ timeout: 30_000 });
  await screenshot(page, '7-kubeconfig');
  const idToken = (await page.locator('#IDToken code').textContent()).trim();

  // kubectl with that token, against the apiserver that has the pack's flags.
  const kubeconfig = path.join(work, 'kubeconfig');
  fs.writeFileSync(
    kubeconfig,
    YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'oidc',
          cluster: {
            server: apiserver.server,
            'certificate-authority-data': Buffer.from(apiserver.caPem).toString(
              'base64',
            ),
          },
        },
      ],
      users: [{ name: 'user', user: { token: idToken } }],
      contexts: [{ name: 'oidc', context: { cluster: 'oidc', user: 'user' } }],
      'current-context': 'oidc',
    }),
    { mode: 0o600 },
  );
  const { kubectl } = ensureBinaries('kubernetes');
  // The apiserver fetches Dex's keys in the background after it starts: retry a refusal for a while.
  let whoami;
  for (const deadline = Date.now() + 30_000; ;) {
    // Asynchronously: this process forwards the pods' traffic to the apiserver (runPod's egress).
    whoami = await execFile(
      kubectl,
      ['--kubeconfig', kubeconfig, 'auth', 'whoami'],
      { encoding: 'utf8', timeout: 30_000 },
    ).then(
      r => ({ status: 0, ...r }),
      e => ({
        status: e.code ?? 1,
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? String(e),
      }),
    );
    if (whoami.status === 0 || Date.now() > deadline) break;
    await new Promise(r => setTimeout(r, 1000));
  }
  if (whoami.status !== 0) {
    // What the apiserver said about the token, for the failure message.
    const log = fs.readFileSync(
      path.join(apiserver.workDir, 'kube-apiserver.log'),
      'utf8',
    );
    const lines = log
      .split('\n')
      .filter(l => /oidc|jwt|authenticat|Unable to authenticate/i.test(l))
      .slice(-15);
    assert.fail(
      `kubectl auth whoami: ${whoami.stderr}\napiserver:\n${lines.join('\n')}\nDex:\n${dex.logs().split('\n').slice(-30).join('\n')}`,
    );
  }
  assert.match(
    whoami.stdout,
    new RegExp(`Username\\s+${USER.email.replace(/\./g, '\\.')}`),
  );
  // Groups carry the pack's prefix (oidc: by default).
  assert.match(
    whoami.stdout,
    new RegExp(`Groups\\s+\\[oidc:${USER.group} system:authenticated\\]`),
  );
});
