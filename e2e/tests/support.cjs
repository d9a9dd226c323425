// Shared by the browser tests: the browser, the cluster client, screenshots.
const fs = require('node:fs');
const path = require('node:path');

require('@backstage/cli/config/nodeTransform.cjs');

const APP_URL = process.env.APP_URL ?? 'http://localhost:3000';
const BACKEND_URL = process.env.BACKEND_URL ?? 'http://localhost:7007';
const ARTIFACTS = path.resolve(__dirname, '..', 'artifacts');

async function launchBrowser() {
  const { chromium } = require('playwright-core');
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

async function kubeConfig() {
  const { clientNode } = require('@backstage-dex/plugin-dex-node');
  const k8s = await clientNode();
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(process.env.E2E_KUBECONFIG);
  return {
    k8s,
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    networking: kc.makeApiClient(k8s.NetworkingV1Api),
  };
}

async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({
    path: path.join(ARTIFACTS, `${name}.png`),
    fullPage: true,
  });
}

/** Signs in as the guest user (the app's local sign-in). */
async function signIn(page) {
  await page.goto(APP_URL);
  const enter = page.getByRole('button', { name: /enter/i });
  await enter.first().click({ timeout: 60_000 });
  await page
    .waitForURL(url => !url.pathname.includes('sign-in'), { timeout: 30_000 })
    .catch(() => {});
}

/** A backend call as the e2e script (static external-access token). */
async function backend(pathname, init = {}) {
  const res = await fetch(`${BACKEND_URL}${pathname}`, {
    ...init,
    headers: {
      authorization: `Bearer ${process.env.E2E_TOKEN}`,
      'content-type': 'application/json',
      ...(init.headers ?? {}),
    },
  });
  if (!res.ok)
    throw new Error(`${pathname}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

module.exports = {
  APP_URL,
  BACKEND_URL,
  ARTIFACTS,
  launchBrowser,
  kubeConfig,
  screenshot,
  signIn,
  backend,
};
