// The developer's journey in the browser, as the guest (no cluster credentials): from the entity
// page's "Add Dex auth" to the template filled in for that entity, the task, the entity page from
// the task's link, the card (summary, details, Upgrade 2.35.1 -> default), logging in through the
// authenticator's page, and the downloaded kubeconfig: kubectl runs kubelogin, which gets a token
// from the pack's Dex, and kube-apiserver (which trusts that Dex) answers `auth whoami`.
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
} = require('@backstage-dex/local-cluster');

// The Resource of examples/entities.yaml: no annotation at all; the card finds its installation
// by the entity ref the action stamps.
const ENTITY_PATH = '/catalog/default/resource/local-cluster';
const INSTALLATION = 'local/e2e-dex/dex';
const NAMESPACE = 'e2e-dex';
const DEX_HOST = 'dex.e2e.test';
const LOGIN_HOST = 'login.e2e.test';
const OLD_VERSION = '2.35.1';
const DEFAULT_VERSION = '2.45.1';
const USER = {
  email: 'admin@e2e.test',
  password: 'correct horse battery staple',
  group: 'e2e-admins',
};
const INGRESS_IP = '203.0.113.10';

let browser;
let context;
let page;
let k;
let dexPort;
let issuer;
let work;
const cleanups = [];

/** A Backstage UI Select of the form, by its label (a button named by label and value). */
const selectOf = label =>
  page.getByRole('button', { name: new RegExp(label) }).first();

/** Waits until the select shows `value` (pickers fill themselves after their API call answers). */
async function waitForSelected(label, value) {
  await selectOf(label)
    .filter({ hasText: value })
    .waitFor({ timeout: 30_000 })
    .catch(async () =>
      assert.fail(
        `${label} shows "${await selectOf(label).textContent()}", expected "${value}"`,
      ),
    );
}

/** Waits until an input's value matches (the form fills in from the link's formData). */
async function waitForInput(selector, pattern) {
  await page
    .waitForFunction(
      ([sel, source]) =>
        new RegExp(source).test(document.querySelector(sel)?.value ?? ''),
      [selector, pattern.source],
      { timeout: 30_000 },
    )
    .catch(async () =>
      assert.fail(
        `${selector} shows "${await page.locator(selector).inputValue()}", expected ${pattern}`,
      ),
    );
}

/** The Plan page: the dry run of the form, before anything is applied; `expected` is its summary. */
async function plan(name, expected) {
  await page.getByRole('button', { name: 'Next' }).click();
  await page
    .getByText(expected)
    .first()
    .waitFor({ timeout: 60_000 })
    .catch(async e => {
      await screenshot(page, `${name}-plan-failed`);
      assert.fail(
        `no plan: ${e.message}\n${(await page.locator('main').innerText()).slice(-3000)}`,
      );
    });
  await screenshot(page, `${name}-plan`);
}

/** Review, Create, wait for the task's output, then the entity page from the task's Owner link. */
async function runAndOpenOwner(name) {
  await page.getByRole('button', { name: 'Review' }).click();
  await page.getByRole('button', { name: 'Create' }).waitFor();
  // The review step shows the plan's summary beside the other answers.
  await page
    .getByText(/\d+ (to create|unchanged)/)
    .first()
    .waitFor();
  await screenshot(page, `${name}-review`);
  await page.getByRole('button', { name: 'Create' }).click();
  await page
    .getByText('kube-apiserver flags')
    .first()
    .waitFor({ timeout: 120_000 })
    .catch(async e => {
      await screenshot(page, `${name}-task-failed`);
      assert.fail(
        `the task shows no output: ${e.message}\n${(await page.locator('main').innerText()).slice(-3000)}`,
      );
    });
  await page.getByText('kube-apiserver flags').first().click();
  await page.getByText(`--oidc-issuer-url=${issuer}`).first().waitFor();
  await screenshot(page, `${name}-task`);
  await page.getByRole('link', { name: 'Owner' }).first().click();
  await page.waitForURL(`**${ENTITY_PATH}`, { timeout: 30_000 });
}

/** The card's line of the installation. */
const summary = () =>
  page.getByRole('region', { name: `Dex installation ${INSTALLATION}` });

before(async () => {
  k = await kubeConfig();
  dexPort = await freePort();
  issuer = `https://127.0.0.1:${dexPort}/dex`;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-journey-'));
  cleanups.push(() => fs.rmSync(work, { recursive: true, force: true }));
  // What a platform engineer prepares: the namespace (the test user's password comes from the form).
  await k.core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
  browser = await launchBrowser();
  context = await browser.newContext({
    viewport: { width: 1400, height: 1100 },
    ignoreHTTPSErrors: true,
    acceptDownloads: true,
  });
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
  for (const c of cleanups.reverse()) await c();
});

test('from the entity page, "Add Dex auth" opens the template for that entity; the developer installs Dex 2.35.1', async () => {
  await page.goto(`${APP_URL}${ENTITY_PATH}`);
  await page.getByText('No Dex installation yet').waitFor({ timeout: 60_000 });
  await screenshot(page, '1-entity-without-dex');
  await page.getByRole('link', { name: 'Add Dex auth' }).click();
  await page.waitForURL('**/create/templates/default/add-dex-auth**');

  // The Owner is the entity the button was on; the cluster picker preselects the only cluster.
  await waitForInput('#root_entity', /local-cluster/);
  await waitForSelected('Cluster', 'local');
  await page.locator('#root_namespace').fill(NAMESPACE);
  await screenshot(page, '2-form-target');
  await page.getByRole('button', { name: 'Next' }).click();

  // The version picker offers what app-config.yaml allows, the platform default chosen.
  await waitForSelected('Dex version', DEFAULT_VERSION);
  await selectOf('Dex version').click();
  const versions = await page.getByRole('option').allInnerTexts();
  assert.ok(
    versions.includes(DEFAULT_VERSION) && versions.includes(OLD_VERSION),
    `versions offered: ${versions}`,
  );
  await screenshot(page, '3-version-picker-open');
  await page.getByRole('option', { name: OLD_VERSION, exact: true }).click();
  await waitForSelected('Dex version', OLD_VERSION);
  await page.locator('#root_testUser_enabled').check();
  await page.locator('#root_testUser_email').fill(USER.email);
  // The scaffolder's Secret field: the value travels as a task secret, the form keeps stars; the
  // pack stores it in the installation's Secret dex-secret-inputs.
  await page.locator('input[type="password"]').fill(USER.password);
  // No group: static users' groups need Dex 2.45 (the form says so); added on the upgrade.
  await screenshot(page, '4-form-dex');
  await page.getByRole('button', { name: 'Next' }).click();
  // Exposure, per component: ClusterIP + Ingress each, the issuer where the test serves Dex.
  await page.locator('#root_dexExposure_issuerUrl').fill(issuer);
  await page.locator('#root_dexExposure_ingress_enabled').check();
  await page.locator('#root_dexExposure_ingress_host').fill(DEX_HOST);
  await page.locator('#root_authenticatorExposure_ingress_enabled').check();
  await page
    .locator('#root_authenticatorExposure_ingress_host')
    .fill(LOGIN_HOST);
  await screenshot(page, '4-form-exposure');
  await plan('4', /Dry run: \d+ to create, 0 to change, 0 unchanged/);
  await runAndOpenOwner('5');

  await summary()
    .getByText(`Dex ${OLD_VERSION} · authenticator 1.4.0`)
    .waitFor({ timeout: 60_000 });
  await summary()
    .getByRole('link', { name: `Upgrade to Dex ${DEFAULT_VERSION}` })
    .waitFor();
  await screenshot(page, '6-card-old-version');
});

test('"Upgrade" on the card opens the template with the installation\'s values and the default version', async () => {
  await summary()
    .getByRole('link', { name: `Upgrade to Dex ${DEFAULT_VERSION}` })
    .click();
  await page.waitForURL('**/create/templates/default/add-dex-auth**');
  await waitForInput('#root_entity', /local-cluster/);
  await waitForSelected('Cluster', 'local');
  assert.equal(await page.locator('#root_namespace').inputValue(), NAMESPACE);
  assert.equal(await page.locator('#root_instance').inputValue(), 'dex');
  await screenshot(page, '7-upgrade-form-target');
  await page.getByRole('button', { name: 'Next' }).click();
  await waitForSelected('Dex version', DEFAULT_VERSION);
  assert.equal(
    await page.locator('#root_testUser_email').inputValue(),
    USER.email,
  );
  // A secret is never filled in again: left empty, the run keeps the stored one (the login below
  // uses it).
  assert.equal(await page.locator('input[type="password"]').inputValue(), '');
  // Dex 2.45 gives static users groups: the developer adds one while upgrading.
  await page.locator('#root_testUser_group').fill(USER.group);
  await screenshot(page, '8-upgrade-form-dex');
  await page.getByRole('button', { name: 'Next' }).click();
  assert.equal(
    await page.locator('#root_dexExposure_issuerUrl').inputValue(),
    issuer,
  );
  assert.equal(
    await page.locator('#root_dexExposure_ingress_host').inputValue(),
    DEX_HOST,
  );
  assert.equal(
    await page.locator('#root_authenticatorExposure_ingress_host').inputValue(),
    LOGIN_HOST,
  );
  // The upgrade changes what is installed: the plan names the Deployment and its fields.
  await plan('8-upgrade', /Dry run: \d+ to create, [1-9]\d* to change/);
  await page
    .getByText(/Deployment e2e-[-\w]+\/dex \(.*spec\.template/)
    .first()
    .waitFor();
  await runAndOpenOwner('9-upgrade');

  await summary()
    .getByText(`Dex ${DEFAULT_VERSION} · authenticator 1.4.0`)
    .waitFor({ timeout: 60_000 });
  assert.equal(
    await summary()
      .getByRole('link', { name: /Upgrade/ })
      .count(),
    0,
  );
  await screenshot(page, '10-card-upgraded');

  // An Ingress controller assigns an address (written through the status subresource); the
  // details show it.
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
    await summary().getByRole('button', { name: 'Details' }).click();
    try {
      await summary().getByText(INGRESS_IP).first().waitFor({ timeout: 5_000 });
      break;
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
  }
  await summary()
    .getByRole('link', { name: `https://${DEX_HOST}` })
    .first()
    .waitFor();
  await screenshot(page, '11-card-details');
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

/** kube-apiserver reloads its AuthenticationConfiguration from the file in the background: retry. */
async function whoami(kubeconfig, env = process.env) {
  const { kubectl } = ensureBinaries('kubernetes');
  let result;
  for (const deadline = Date.now() + 90_000; ;) {
    // Asynchronously: this process forwards the pods' traffic (runPod's egress and ports).
    result = await execFile(
      kubectl,
      ['--kubeconfig', kubeconfig, 'auth', 'whoami'],
      { encoding: 'utf8', timeout: 60_000, env },
    ).then(
      r => ({ status: 0, ...r }),
      e => ({
        status: e.code ?? 1,
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? String(e),
      }),
    );
    if (result.status === 0 || Date.now() > deadline) return result;
    await new Promise(r => setTimeout(r, 2000));
  }
}

function assertWhoami(result, dexPod) {
  if (result.status !== 0)
    assert.fail(
      `kubectl auth whoami: ${result.stderr}\nDex:\n${dexPod.logs().split('\n').slice(-30).join('\n')}`,
    );
  assert.match(
    result.stdout,
    new RegExp(`Username\\s+${USER.email.replace(/\./g, '\\.')}`),
  );
  // Groups carry the pack's prefix (oidc: by default).
  assert.match(
    result.stdout,
    new RegExp(`Groups\\s+\\[oidc:${USER.group} system:authenticated\\]`),
  );
}

let dexPod;

test("a user logs in from the card's Log in, through the authenticator, and kubectl accepts the ID token it shows", async () => {
  const objects = await appliedObjects();
  const settings = (
    await k.core.readNamespacedConfigMap({
      name: 'dex-apiserver-settings',
      namespace: NAMESPACE,
    })
  ).data;

  // Dex and the authenticator run from those objects, as their pods would (kubernetes storage in
  // this cluster through the rendered ServiceAccount's token); their ports are forwarded to
  // loopback. (The local cluster has no node that runs Deployments yet.)
  const cluster = k.kc.getCurrentCluster();
  const apiPort = Number(new URL(cluster.server).port);
  const saToken = await k.core.createNamespacedServiceAccountToken({
    name: 'dex',
    namespace: NAMESPACE,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  dexPod = await runReady({
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

  // The platform's part: this cluster's kube-apiserver trusts the pack's Dex, with the
  // AuthenticationConfiguration the pack hands back (reloaded from its file).
  fs.writeFileSync(
    process.env.E2E_AUTHENTICATION_CONFIG,
    settings['authentication-configuration.yaml'],
  );

  // The Ingress in front of the authenticator: the browser's requests for its host reach the pod.
  await context.route(`https://${LOGIN_HOST}/**`, async route => {
    const url = new URL(route.request().url());
    url.host = `127.0.0.1:${authenticatorPort}`;
    const response = await route.fetch({
      url: url.toString(),
      maxRedirects: 0,
    });
    await route.fulfill({ response });
  });

  const [login] = await Promise.all([
    context.waitForEvent('page'),
    summary().getByRole('link', { name: 'Log in' }).click(),
  ]);
  // With one cluster, the authenticator sends the user straight on to Dex's login form.
  await login.locator('#login').waitFor({ timeout: 30_000 });
  assert.equal(new URL(login.url()).origin, `https://127.0.0.1:${dexPort}`);
  await login.locator('#login').fill(USER.email);
  await login.locator('#password').fill(USER.password);
  await screenshot(login, '12-dex-login');
  await login.locator('#submit-login').click();
  // Back on the authenticator: its callback exchanged the code and shows the kubeconfig.
  await login.waitForURL(`https://${LOGIN_HOST}/callback/local**`, {
    timeout: 30_000,
  });
  await login.getByText(cluster.server).first().waitFor({ timeout: 30_000 });
  await screenshot(login, '13-authenticator-kubeconfig');
  const idToken = (await login.locator('#IDToken code').textContent()).trim();
  await login.close();

  const kubeconfig = path.join(work, 'token-kubeconfig');
  fs.writeFileSync(
    kubeconfig,
    YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'local',
          cluster: {
            server: cluster.server,
            'certificate-authority-data': Buffer.from(
              process.env.E2E_CLUSTER_CA,
            ).toString('base64'),
          },
        },
      ],
      users: [{ name: 'user', user: { token: idToken } }],
      contexts: [{ name: 'oidc', context: { cluster: 'local', user: 'user' } }],
      'current-context': 'oidc',
    }),
    { mode: 0o600 },
  );
  assertWhoami(await whoami(kubeconfig), dexPod);
});

test("the downloaded kubeconfig works: kubectl runs kubelogin, which gets a token from the pack's Dex", async () => {
  assert.ok(dexPod, 'the previous test started Dex');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    summary().getByRole('button', { name: 'Download kubeconfig' }).click(),
  ]);
  assert.equal(
    download.suggestedFilename(),
    `kubeconfig-${INSTALLATION.replace(/\//g, '-')}.yaml`,
  );
  const file = path.join(work, 'kubeconfig.yaml');
  await download.saveAs(file);
  await screenshot(page, '14-card-kubeconfig-downloaded');
  const text = fs.readFileSync(file, 'utf8');
  // Nothing in it the user should not have: no client secret, no token, no key.
  const clientSecret = (
    await k.core.readNamespacedSecret({
      name: 'dex-clients',
      namespace: NAMESPACE,
    })
  ).data.kubernetes;
  assert.ok(!text.includes(Buffer.from(clientSecret, 'base64').toString()));
  assert.doesNotMatch(text, /token:|client-secret|PRIVATE KEY/);
  const config = YAML.parse(text);
  assert.equal(
    config.clusters[0].cluster.server,
    k.kc.getCurrentCluster().server,
  );
  const exec = config.users[0].user.exec;
  assert.deepEqual(exec.args.slice(0, 4), [
    'oidc-login',
    'get-token',
    `--oidc-issuer-url=${issuer}`,
    '--oidc-client-id=kubectl',
  ]);

  // The user's side: kubectl and kubelogin on the PATH as kubectl-oidc_login (what `kubectl oidc-login` runs; krew installs it so). Instead of the
  // browser, kubelogin takes the user's password (the password grant); its token cache stays here.
  const bin = path.join(work, 'bin');
  fs.mkdirSync(bin);
  const { kubectl } = ensureBinaries('kubernetes');
  fs.symlinkSync(kubectl, path.join(bin, 'kubectl'));
  fs.symlinkSync(
    ensureBinaries('kubelogin').kubelogin,
    path.join(bin, 'kubectl-oidc_login'),
  );
  exec.args.push(
    '--grant-type=password',
    `--username=${USER.email}`,
    `--password=${USER.password}`,
    `--token-cache-dir=${path.join(work, 'oidc-cache')}`,
  );
  const withPassword = path.join(work, 'kubeconfig-password.yaml');
  fs.writeFileSync(withPassword, YAML.stringify(config), { mode: 0o600 });
  assertWhoami(
    await whoami(withPassword, {
      ...process.env,
      PATH: `${bin}:/usr/bin:/bin`,
    }),
    dexPod,
  );
});
