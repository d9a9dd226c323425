// What a developer does in the browser: run "Add Dex auth", see the installation on the entity
// page, and sign in through the installed Dex to the cluster.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const YAML = require('yaml');
const { APP_URL, launchBrowser, kubeConfig, screenshot } = require('./support.cjs');
const { freePort, httpsRequest, selfSubjectReview, startDex, startLocalCluster } = require('@backstage-dex/local-cluster');

const NAMESPACE = 'e2e-dex';
const DEX_HOST = 'dex.e2e.test';
const LOGIN_HOST = 'login.e2e.test';
const USER = { email: 'admin@e2e.test', password: 'correct horse battery staple' };
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
    .waitForFunction(([sel, v]) => document.querySelector(sel)?.value === v, [selector, value], { timeout: 30_000 })
    .catch(async () => assert.fail(`${selector} shows "${await page.locator(selector).inputValue()}", expected "${value}"`));
}

before(async () => {
  k = await kubeConfig();
  dexPort = await freePort();
  issuer = `https://127.0.0.1:${dexPort}/dex`;
  // What a platform engineer prepares: the namespace and the test user's password Secret.
  await k.core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
  await k.core.createNamespacedSecret({
    namespace: NAMESPACE,
    body: { metadata: { name: 'e2e-users' }, stringData: { password: USER.password } },
  });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 1100 }, ignoreHTTPSErrors: true });
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
  await page.locator('#root_version option', { hasText: '2.45.1' }).waitFor({ state: 'attached', timeout: 30_000 });
  const versions = await page.locator('#root_version option').allInnerTexts();
  assert.ok(versions.includes('2.45.1') && versions.includes('2.30.0'), `versions offered: ${versions}`);
  await waitForValue('#root_version', '2.45.1');
  await page.locator('#root_issuerUrl').fill(issuer);
  await page.locator('#root_ingress_enabled').check();
  await page.locator('#root_ingress_dexHost').fill(DEX_HOST);
  await page.locator('#root_ingress_authenticatorHost').fill(LOGIN_HOST);
  await page.locator('#root_testUser_enabled').check();
  await page.locator('#root_testUser_email').fill(USER.email);
  await page.locator('#root_testUser_passwordRef_name').fill('e2e-users');
  await screenshot(page, '1-form');
  await page.getByRole('button', { name: 'Review' }).click();
  await page.getByRole('button', { name: 'Create' }).click();

  await page.getByText('kube-apiserver flags').first().waitFor({ timeout: 120_000 });
  await page.getByText(`--oidc-issuer-url=${issuer}`).first().waitFor();
  await screenshot(page, '2-task');
  const links = await page.getByRole('link', { name: /Dex issuer/ }).getAttribute('href');
  assert.equal(links, `${issuer}/.well-known/openid-configuration`);
});

test('the entity page card shows the endpoints, the version and the Ingress status', async () => {
  await page.goto(`${APP_URL}/catalog/default/component/payments-api`);
  await page.getByText('Dex authentication', { exact: true }).waitFor({ timeout: 60_000 });
  // Only the card shows these: the installation's endpoints, version and Ingress state.
  const card = page;
  await card.getByRole('link', { name: `https://${DEX_HOST}` }).first().waitFor({ timeout: 60_000 });
  await card.getByRole('link', { name: `https://${LOGIN_HOST}` }).first().waitFor();
  await card.getByText('2.45.1').first().waitFor();
  await card.getByText(/pending/i).first().waitFor();
  await screenshot(page, '3-card');

  // An Ingress controller assigns an address (written through the status subresource).
  const ingress = await k.networking.readNamespacedIngress({ name: 'dex', namespace: NAMESPACE });
  ingress.status = { loadBalancer: { ingress: [{ ip: INGRESS_IP }] } };
  await k.networking.replaceNamespacedIngressStatus({ name: 'dex', namespace: NAMESPACE, body: ingress });
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

test("a user signs in through the installed Dex and the cluster accepts the ID token", async () => {
  // The Dex config, CA and API-server settings exactly as the template applied them.
  const secret = name => k.core.readNamespacedSecret({ name, namespace: NAMESPACE });
  const decode = (s, key) => Buffer.from(s.data[key], 'base64').toString('utf8');
  const config = YAML.parse(decode(await secret('dex-config'), 'config.yaml'));
  const tls = await secret('dex-tls');
  const clientSecret = decode(await secret('dex-clients'), 'kubernetes');
  const settings = await k.core.readNamespacedConfigMap({ name: 'dex-apiserver-settings', namespace: NAMESPACE });
  const authenticator = YAML.parse(
    (await k.core.readNamespacedConfigMap({ name: 'dex-authenticator', namespace: NAMESPACE })).data['config.yaml'],
  );
  assert.equal(config.issuer, issuer);

  // Run that Dex (only its storage, listen address and file paths differ outside a pod).
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-dex-'));
  cleanups.push(() => fs.rmSync(work, { recursive: true, force: true }));
  const kubeconfig = path.join(work, 'kubeconfig');
  const kc = YAML.parse(fs.readFileSync(process.env.E2E_KUBECONFIG, 'utf8'));
  kc.contexts[0].context.namespace = NAMESPACE;
  fs.writeFileSync(kubeconfig, YAML.stringify(kc));
  config.storage = { type: 'kubernetes', config: { kubeConfigFile: kubeconfig } };
  config.web = { https: `127.0.0.1:${dexPort}`, tlsCert: path.join(work, 'tls.crt'), tlsKey: path.join(work, 'tls.key') };
  config.telemetry = { http: `127.0.0.1:${await freePort()}` };
  const caPem = decode(tls, 'ca.crt');
  const dex = await startDex({
    version: 'v2.45.1',
    configYaml: YAML.stringify(config),
    caPem,
    files: { [path.join(work, 'tls.crt')]: decode(tls, 'tls.crt'), [path.join(work, 'tls.key')]: decode(tls, 'tls.key') },
  });
  cleanups.push(() => dex.stop());

  // A kube-apiserver started with the rendered --oidc-* flags (the CA file where the flag says).
  const caFile = path.join(work, 'dex-ca.crt');
  fs.writeFileSync(caFile, settings.data['ca.crt']);
  const flags = settings.data['oidc-flags'].split('\n').map(f => (f.startsWith('--oidc-ca-file=') ? `--oidc-ca-file=${caFile}` : f));
  const apiserver = await startLocalCluster({ apiServerFlags: flags });
  cleanups.push(() => apiserver.stop());

  // The login the authenticator starts: Dex's authorize endpoint for the authenticator's client
  // and callback. (The authenticator binary itself cannot be built here: its Go module is not
  // served by the module proxy. Its callback is answered by the test, which then does what the
  // authenticator does with the code.)
  const cluster = authenticator.clusters[0];
  let callback;
  await page.route(`https://${LOGIN_HOST}/**`, route => {
    callback = new URL(route.request().url());
    route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>authenticator callback</h1>' });
  });
  const authorize = new URL(`${cluster.issuer}/auth`);
  authorize.search = new URLSearchParams({
    client_id: cluster.client_id,
    redirect_uri: cluster.redirect_uri,
    response_type: 'code',
    scope: 'openid profile email groups offline_access',
    state: 'e2e-state',
  }).toString();
  await page.goto(authorize.toString());
  await page.locator('#login').fill(USER.email);
  await page.locator('#password').fill(USER.password);
  await screenshot(page, '5-dex-login');
  await page.locator('#submit-login').click();
  await page.waitForURL(`https://${LOGIN_HOST}/**`);
  assert.equal(callback.pathname, '/callback/local');
  assert.equal(callback.searchParams.get('state'), 'e2e-state');

  const body = new URLSearchParams({ grant_type: 'authorization_code', code: callback.searchParams.get('code'), redirect_uri: cluster.redirect_uri }).toString();
  const token = await httpsRequest(`${issuer}/token`, {
    caPem,
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${cluster.client_id}:${clientSecret}`).toString('base64')}`,
    },
    body,
  });
  assert.equal(token.status, 200, token.body);
  const review = await selfSubjectReview(apiserver.server, apiserver.caPem, JSON.parse(token.body).id_token);
  assert.equal(review.username, USER.email);
});
