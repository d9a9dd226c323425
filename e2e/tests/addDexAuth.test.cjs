// The developer's journey in the browser, on the living local cluster (real controllers, the node
// that runs the pack's pods, LoadBalancer addresses on loopback), as the guest — a user of the app
// with no cluster credentials: from the entity page's "Add Dex auth" to the template filled in for
// that entity (an LDAP connector with its bind password and a private CA, a test user, Dex and the
// authenticator each on a LoadBalancer with no URL given), the task, the entity page from the
// task's link, and the card following the rollout until Dex and the authenticator are Ready. Then
// the card's links are clicked: Dex's issuer (its discovery document), "Log in" (the
// authenticator, a login at Dex, the kubeconfig page, whose ID token `kubectl auth whoami`
// accepts); "Upgrade" from 2.35.1 to the default version, rolled out by the controllers and the
// node; and the downloaded kubeconfig, with which kubectl runs kubelogin, whose browser login
// (driven here) gets a token from the pack's Dex. Nothing of the pack is started by the test.
//
// The test plays two other roles: the platform engineer, who prepares the namespace and the
// LDAP server's CA Secret, and who gives kube-apiserver the AuthenticationConfiguration the task
// hands back (written to the file kube-apiserver reloads); and the browser's user, who accepts
// the pack's private CA (the context ignores certificate errors instead of importing the CA).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const YAML = require('yaml');
const {
  APP_URL,
  ARTIFACTS,
  backend,
  launchBrowser,
  kubeConfig,
  screenshot,
} = require('./support.cjs');
const { ensureBinaries, loopbackPki } = require('@backstage-dex/local-cluster');

// The Resource of examples/entities.yaml: no annotation at all; the card finds its installation
// by the entity ref the action stamps.
const ENTITY_PATH = '/catalog/default/resource/local-cluster';
const INSTALLATION = 'local/e2e-dex/dex';
const NAMESPACE = 'e2e-dex';
const OLD_VERSION = '2.35.1';
const DEFAULT_VERSION = '2.45.1';
const AUTHENTICATOR_VERSION = '1.4.0';
const USER = {
  email: 'admin@e2e.test',
  password: 'correct horse battery staple',
  group: 'e2e-admins',
};
/** An LDAP server behind StartTLS whose certificate a private CA signed (Dex loads the CA at start). */
const LDAP = {
  host: 'ldap.e2e.test:389',
  bindDN: 'cn=dex,dc=e2e,dc=test',
  bindPassword: 'ldap bind secret',
  userBaseDN: 'ou=people,dc=e2e,dc=test',
  caSecret: 'ldap-ca',
};
/** How long the card may take to show a rollout Ready: the authenticator waits out its back-off while Dex starts. */
const ROLLOUT_TIMEOUT_MS = 240_000;

let browser;
let context;
let page;
let k;
let issuer;
let work;
const cleanups = [];

/** A select of the form, by its label (a button or combobox named by label and value). */
const selectOf = label =>
  page
    .getByRole('button', { name: new RegExp(label) })
    .or(page.getByRole('combobox', { name: new RegExp(label) }))
    .first();

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

async function choose(label, option) {
  await selectOf(label).click();
  await page.getByRole('option', { name: option, exact: true }).click();
  await waitForSelected(label, option);
}

/** The scaffolder's Secret field (a password input, named by its title; its value never enters the form's data). */
const secretField = title => page.getByLabel(title, { exact: true });

/**
 * One step of the journey: the steps build on each other, so after a failure the later ones are
 * skipped, and the failing page is kept (screenshot and HTML) in e2e/artifacts.
 */
let failedStep;
function step(title, fn) {
  test(title, async t => {
    if (failedStep) {
      t.skip(`an earlier step failed: ${failedStep}`);
      return;
    }
    try {
      await fn();
    } catch (e) {
      failedStep = title;
      if (page) {
        await screenshot(page, 'failed').catch(() => {});
        fs.writeFileSync(
          path.join(ARTIFACTS, 'failed.html'),
          await page.content().catch(() => ''),
        );
      }
      throw e;
    }
  });
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

/**
 * Review, Create, wait for the task's output; returns the issuer the task reports and what it
 * hands back (the template's output), then opens the entity page from the task's Owner link.
 */
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
    .waitFor({ timeout: 180_000 })
    .catch(async e => {
      await screenshot(page, `${name}-task-failed`);
      assert.fail(
        `the task shows no output: ${e.message}\n${(await page.locator('main').innerText()).slice(-3000)}`,
      );
    });
  await page.getByText('kube-apiserver flags').first().click();
  const flag = page.getByText(/--oidc-issuer-url=https:\/\/\S+/).first();
  await flag.waitFor();
  const reported = /--oidc-issuer-url=(https:\/\/\S+)/.exec(
    await flag.textContent(),
  )[1];
  await screenshot(page, `${name}-task`);
  const taskId = /\/create\/tasks\/([^/?#]+)/.exec(page.url())?.[1];
  assert.ok(taskId, `not on a task page: ${page.url()}`);
  const events = await backend(`/api/scaffolder/v2/tasks/${taskId}/events`);
  const output = events.find(e => e.type === 'completion')?.body?.output;
  assert.ok(output, `task ${taskId} has no output`);
  // The form's secrets reached the pack, but not the task's stored parameters, log or output.
  const task = await backend(`/api/scaffolder/v2/tasks/${taskId}`);
  const stored = JSON.stringify([task, events]);
  for (const secret of [USER.password, LDAP.bindPassword])
    assert.ok(!stored.includes(secret), 'a form secret is in the task');
  await page.getByRole('link', { name: 'Owner' }).first().click();
  await page.waitForURL(`**${ENTITY_PATH}`, { timeout: 30_000 });
  return { issuer: reported, output };
}

/** The card's line of the installation. */
const summary = () =>
  page.getByRole('region', { name: `Dex installation ${INSTALLATION}` });

/** What the cluster says about the installation's pods, for a failure message. */
async function podsReport() {
  const pods = await k.core.listNamespacedPod({ namespace: NAMESPACE });
  const events = await k.core.listNamespacedEvent({ namespace: NAMESPACE });
  return [
    ...pods.items.map(
      p =>
        `${p.metadata.name} ${p.status?.phase} ${JSON.stringify(p.status?.containerStatuses?.map(c => [c.ready, c.restartCount, c.state, c.lastState]))}`,
    ),
    ...events.items
      .slice(-20)
      .map(e => `${e.involvedObject.name} ${e.reason}: ${e.message}`),
  ].join('\n');
}

/**
 * The card, polling on its own (no reload), shows the installation at `version`, every replica
 * Ready and healthy: the controllers and the node rolled it out.
 */
async function cardShowsReady(version, name) {
  try {
    await summary()
      .getByText(`Dex ${version} · authenticator ${AUTHENTICATOR_VERSION}`)
      .waitFor({ timeout: 60_000 });
    await screenshot(page, `${name}-card-rolling-out`);
    await summary()
      .getByText('Ready 2/2')
      .waitFor({ timeout: ROLLOUT_TIMEOUT_MS });
    await summary()
      .getByText('healthy', { exact: true })
      .first()
      .waitFor({ timeout: 30_000 });
  } catch (e) {
    await screenshot(page, `${name}-card-not-ready`);
    assert.fail(
      `the card does not show Dex ${version} Ready: ${e.message}\ncard: ${await summary()
        .innerText()
        .catch(() => '(none)')}\n${await podsReport()}`,
    );
  }
  await screenshot(page, `${name}-card-ready`);
}

before(async () => {
  k = await kubeConfig();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-journey-'));
  cleanups.push(() => fs.rmSync(work, { recursive: true, force: true }));
  // What a platform engineer prepares: the namespace, and the CA of the LDAP server as a Secret
  // marked usable by packs (the form names it; the bind password and the test user's password
  // come from the form).
  await k.core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
  await k.core.createNamespacedSecret({
    namespace: NAMESPACE,
    body: {
      metadata: {
        name: LDAP.caSecret,
        labels: { 'dex.backstage.io/usable-by-packs': 'true' },
      },
      stringData: { 'ca.crt': loopbackPki('ldap').caPem },
    },
  });
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

step(
  'from the entity page, "Add Dex auth": the developer installs Dex 2.35.1 on LoadBalancers, and the card follows it to Ready',
  async () => {
    await page.goto(`${APP_URL}${ENTITY_PATH}`);
    await page
      .getByText('No Dex installation yet')
      .waitFor({ timeout: 60_000 });
    await screenshot(page, '01-entity-without-dex');
    await page.getByRole('link', { name: 'Add Dex auth' }).click();
    await page.waitForURL('**/create/templates/default/add-dex-auth**');

    // The Owner is the entity the button was on; the cluster picker preselects the only cluster.
    await waitForInput('#root_entity', /local-cluster/);
    await waitForSelected('Cluster', 'local');
    await page.locator('#root_namespace').fill(NAMESPACE);
    await screenshot(page, '02-form-target');
    await page.getByRole('button', { name: 'Next' }).click();

    // The version picker offers what app-config.yaml allows, the platform default chosen.
    await waitForSelected('Dex version', DEFAULT_VERSION);
    await selectOf('Dex version').click();
    const versions = await page.getByRole('option').allInnerTexts();
    assert.ok(
      versions.includes(DEFAULT_VERSION) && versions.includes(OLD_VERSION),
      `versions offered: ${versions}`,
    );
    await screenshot(page, '03-version-picker-open');
    await page.getByRole('option', { name: OLD_VERSION, exact: true }).click();
    await waitForSelected('Dex version', OLD_VERSION);
    await page.locator('#root_testUser_enabled').check();
    await page.locator('#root_testUser_email').fill(USER.email);
    // The scaffolder's Secret fields: the values travel as task secrets, the form keeps stars; the
    // pack stores them in the installation's Secret dex-secret-inputs.
    await secretField('Password').fill(USER.password);
    // No group: static users' groups need Dex 2.45 (the form says so); added on the upgrade.
    await choose('Connector', 'LDAP');
    await page.locator('#root_connector_host').fill(LDAP.host);
    await page.locator('#root_connector_bindDN').fill(LDAP.bindDN);
    await secretField('Bind password').fill(LDAP.bindPassword);
    await page.locator('#root_connector_userBaseDN').fill(LDAP.userBaseDN);
    await page.locator('#root_connector_startTLS').check();
    await page.locator('#root_connector_rootCARef_name').fill(LDAP.caSecret);
    await page.locator('#root_connector_rootCARef_key').fill('ca.crt');
    await screenshot(page, '04-form-dex');
    await page.getByRole('button', { name: 'Next' }).click();
    // Exposure, per component: a LoadBalancer each and no URL: the run waits for the addresses and
    // derives the issuer, the authenticator's URL, the redirect URI and the certificates from them.
    await choose('Dex service type', 'LoadBalancer');
    await choose('Authenticator service type', 'LoadBalancer');
    await screenshot(page, '05-form-exposure');
    await plan('06', /Dry run: \d+ to create, 0 to change, 0 unchanged/);
    await page
      .getByText(/come from the address the cloud assigns/)
      .first()
      .waitFor();
    let output;
    ({ issuer, output } = await runAndOpenOwner('07'));
    // The issuer is on the address the local cluster's LoadBalancer controller assigned (127.128/10).
    const dexHost = new URL(issuer).hostname.split('.').map(Number);
    assert.ok(
      dexHost[0] === 127 && dexHost[1] >= 128 && dexHost[1] < 192,
      `issuer ${issuer} is not on a LoadBalancer address`,
    );
    const dexService = await k.core.readNamespacedService({
      name: 'dex',
      namespace: NAMESPACE,
    });
    assert.equal(
      dexService.status.loadBalancer.ingress[0].ip,
      new URL(issuer).hostname,
    );

    // The platform's part: kube-apiserver trusts the pack's Dex, with the AuthenticationConfiguration
    // the task handed back, written to the file it reloads (--authentication-config).
    const handedBack = output.text.find(
      t => t.title === 'AuthenticationConfiguration',
    )?.content;
    const authenticationConfiguration = /```yaml\n([\s\S]*?)\n```/.exec(
      handedBack ?? '',
    )?.[1];
    assert.ok(
      authenticationConfiguration?.includes(issuer),
      `no AuthenticationConfiguration for ${issuer} in the task's output: ${handedBack}`,
    );
    fs.writeFileSync(
      process.env.E2E_AUTHENTICATION_CONFIG,
      `${authenticationConfiguration}\n`,
    );

    await cardShowsReady(OLD_VERSION, '08');
    await summary()
      .getByRole('link', { name: `Upgrade to Dex ${DEFAULT_VERSION}` })
      .waitFor();
    // The pods ran on the node, from the rendered Deployments.
    const pods = await k.core.listNamespacedPod({ namespace: NAMESPACE });
    assert.deepEqual(
      pods.items
        .filter(p => p.status?.phase === 'Running')
        .map(p => p.spec.nodeName),
      ['local-node', 'local-node'],
    );
  },
);

/** kube-apiserver reloads its AuthenticationConfiguration from the file in the background: retry. */
async function whoami(kubeconfig) {
  const { kubectl } = ensureBinaries('kubernetes');
  let result;
  for (const deadline = Date.now() + 90_000; ;) {
    result = await run(kubectl, ['--kubeconfig', kubeconfig, 'auth', 'whoami']);
    if (result.status === 0 || Date.now() > deadline) return result;
    await new Promise(r => setTimeout(r, 2000));
  }
}

/** Runs a program asynchronously (the tests' process must not block), bounded in time. */
function run(command, args, { env = process.env, onStderr } = {}) {
  return new Promise(resolve => {
    const child = spawn(command, args, {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', c => (stdout += c));
    child.stderr.on('data', c => {
      stderr += c;
      onStderr?.(stderr);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('exit', status => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

function assertWhoami(result, groups) {
  if (result.status !== 0)
    assert.fail(`kubectl auth whoami: ${result.stderr}\n${result.stdout}`);
  assert.match(
    result.stdout,
    new RegExp(`Username\\s+${USER.email.replace(/\./g, '\\.')}`),
  );
  // Groups carry the pack's prefix (oidc: by default).
  assert.match(
    result.stdout,
    new RegExp(
      `Groups\\s+\\[${groups.map(g => `oidc:${g} `).join('')}system:authenticated\\]`,
    ),
  );
}

/** Logs the test user in on Dex's pages: past the connector choice (LDAP or Email), the password form. */
async function loginAtDex(login, name) {
  await login
    .getByText('Log in with Email')
    .waitFor({ timeout: 30_000 })
    .catch(async e => {
      await screenshot(login, `${name}-not-at-dex`);
      throw e;
    });
  assert.equal(new URL(login.url()).origin, new URL(issuer).origin);
  // The LDAP connector loaded (with its CA from the Secret): Dex offers it beside the test user.
  await login.getByText('Log in with LDAP').waitFor();
  await screenshot(login, `${name}-dex-connectors`);
  await login.getByText('Log in with Email').click();
  await login.locator('#login').fill(USER.email);
  await login.locator('#password').fill(USER.password);
  await screenshot(login, `${name}-dex-login`);
  await login.locator('#submit-login').click();
}

step(
  "the card's links: Dex's issuer opens its discovery document; Log in goes through the authenticator to Dex, and kubectl accepts the ID token it shows",
  async () => {
    await summary().getByRole('button', { name: 'Details' }).click();
    // Each component: its one replica ready (the pods the node runs).
    for (const name of [/^Dex$/, /^Authenticator/])
      await summary()
        .getByRole('region', { name })
        .getByText('1/1 ready (healthy)')
        .waitFor({ timeout: 10_000 });
    const [discovery] = await Promise.all([
      context.waitForEvent('page'),
      summary()
        // Named by the issuer (Backstage adds "opens in a new window" to external links).
        .getByRole('link', {
          name: new RegExp(
            `^${issuer.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`,
          ),
        })
        .first()
        .click(),
    ]);
    await discovery.waitForLoadState();
    const document = JSON.parse(await discovery.locator('body').innerText());
    assert.equal(document.issuer, issuer);
    await screenshot(page, '09-card-details');
    await screenshot(discovery, '10-dex-discovery');
    await discovery.close();

    const [login] = await Promise.all([
      context.waitForEvent('page'),
      summary().getByRole('link', { name: 'Log in' }).click(),
    ]);
    // With one cluster, the authenticator sends the user straight on to Dex.
    await loginAtDex(login, '11');
    // Back on the authenticator: its callback exchanged the code and shows the kubeconfig.
    await login.waitForURL(/\/callback\//, { timeout: 30_000 });
    const server = k.kc.getCurrentCluster().server;
    await login.getByText(server).first().waitFor({ timeout: 30_000 });
    await screenshot(login, '12-authenticator-kubeconfig');
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
              server,
              'certificate-authority-data': Buffer.from(
                process.env.E2E_CLUSTER_CA,
              ).toString('base64'),
            },
          },
        ],
        users: [{ name: 'user', user: { token: idToken } }],
        contexts: [
          { name: 'oidc', context: { cluster: 'local', user: 'user' } },
        ],
        'current-context': 'oidc',
      }),
      { mode: 0o600 },
    );
    // Dex 2.35.1 gives static users no groups.
    assertWhoami(await whoami(kubeconfig), []);
  },
);

step(
  '"Upgrade" on the card: the template with the installation\'s values and the default version; the card shows it rolled out',
  async () => {
    await summary()
      .getByRole('link', { name: `Upgrade to Dex ${DEFAULT_VERSION}` })
      .click();
    await page.waitForURL('**/create/templates/default/add-dex-auth**');
    await waitForInput('#root_entity', /local-cluster/);
    await waitForSelected('Cluster', 'local');
    assert.equal(await page.locator('#root_namespace').inputValue(), NAMESPACE);
    assert.equal(await page.locator('#root_instance').inputValue(), 'dex');
    await screenshot(page, '13-upgrade-form-target');
    await page.getByRole('button', { name: 'Next' }).click();
    await waitForSelected('Dex version', DEFAULT_VERSION);
    assert.equal(
      await page.locator('#root_testUser_email').inputValue(),
      USER.email,
    );
    assert.equal(
      await page.locator('#root_connector_rootCARef_name').inputValue(),
      LDAP.caSecret,
    );
    assert.equal(
      await page.locator('#root_connector_host').inputValue(),
      LDAP.host,
    );
    // A secret is never filled in again: left empty, the run keeps the stored one (the logins
    // below use the test user's).
    for (const label of ['Password', 'Bind password'])
      assert.equal(await secretField(label).inputValue(), '');
    // Dex 2.45 gives static users groups: the developer adds one while upgrading.
    await page.locator('#root_testUser_group').fill(USER.group);
    await screenshot(page, '14-upgrade-form-dex');
    await page.getByRole('button', { name: 'Next' }).click();
    // Still LoadBalancers without URLs: the run derives the same ones from the same addresses.
    await waitForSelected('Dex service type', 'LoadBalancer');
    await waitForSelected('Authenticator service type', 'LoadBalancer');
    assert.equal(
      await page.locator('#root_dexExposure_issuerUrl').inputValue(),
      '',
    );
    // The upgrade changes what is installed: the plan names the Deployment and its fields.
    await plan('15-upgrade', /Dry run: \d+ to create, [1-9]\d* to change/);
    await page
      .getByText(/Deployment e2e-[-\w]+\/dex \(.*spec\.template/)
      .first()
      .waitFor();
    const upgraded = await runAndOpenOwner('16-upgrade');
    assert.equal(upgraded.issuer, issuer, 'the upgrade kept the issuer');

    await cardShowsReady(DEFAULT_VERSION, '17-upgrade');
    assert.equal(
      await summary()
        .getByRole('link', { name: /Upgrade/ })
        .count(),
      0,
    );
    // The node runs the new version: the Deployment's Pod is of the default version's image.
    const pods = await k.core.listNamespacedPod({
      namespace: NAMESPACE,
      labelSelector: 'app.kubernetes.io/name=dex',
    });
    assert.deepEqual(
      pods.items
        .filter(
          p => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp,
        )
        .map(p => p.spec.containers[0].image.replace(/.*:/, '')),
      [`v${DEFAULT_VERSION}`],
    );
  },
);

step(
  "the downloaded kubeconfig works: kubectl runs kubelogin, whose browser login at the pack's Dex gets the token",
  async () => {
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
    await screenshot(page, '18-card-kubeconfig-downloaded');
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

    // The user's side: kubectl and kubelogin on the PATH as kubectl-oidc_login (what `kubectl
    // oidc-login` runs; krew installs it so). kubelogin's authorization-code flow listens on
    // localhost:8000 (the redirect URI the pack's public kubectl client allows) and prints the URL
    // instead of opening a browser; the browser here opens it. Its token cache stays here.
    const bin = path.join(work, 'bin');
    fs.mkdirSync(bin);
    const { kubectl } = ensureBinaries('kubernetes');
    fs.symlinkSync(kubectl, path.join(bin, 'kubectl'));
    fs.symlinkSync(
      ensureBinaries('kubelogin').kubelogin,
      path.join(bin, 'kubectl-oidc_login'),
    );
    exec.args.push(
      '--skip-open-browser',
      `--token-cache-dir=${path.join(work, 'oidc-cache')}`,
    );
    const withBrowser = path.join(work, 'kubeconfig-browser.yaml');
    fs.writeFileSync(withBrowser, YAML.stringify(config), { mode: 0o600 });

    let opened;
    const loginUrl = new Promise(resolve => (opened = resolve));
    const whoamiRun = run(
      kubectl,
      ['--kubeconfig', withBrowser, 'auth', 'whoami'],
      {
        env: { ...process.env, PATH: `${bin}:/usr/bin:/bin` },
        onStderr: stderr => {
          const url = /in your browser: (http:\/\/localhost:\d+\S*)/.exec(
            stderr,
          )?.[1];
          if (url) opened(url);
        },
      },
    );
    const url = await Promise.race([
      loginUrl,
      whoamiRun.then(r =>
        assert.fail(
          `kubectl ended before kubelogin asked for a login: ${r.stderr}`,
        ),
      ),
    ]);
    const login = await context.newPage();
    await login.goto(url);
    await loginAtDex(login, '19-kubelogin');
    // Dex redirects to kubelogin's local callback, which takes the code and says so.
    await login
      .getByText(/Authenticated/i)
      .first()
      .waitFor({ timeout: 30_000 });
    await screenshot(login, '20-kubelogin-authenticated');
    await login.close();
    assertWhoami(await whoamiRun, [USER.group]);
  },
);
