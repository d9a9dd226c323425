/**
 * Every connector the spec offers, against the real Dex binary of every catalogued version, run
 * as its pod runs it (runPod, from the rendered objects, memory storage):
 * - LDAP: a user logs in against Debian's slapd (StartTLS and LDAPS, the server's CA from a Secret
 *   mounted into the pod); the bind password reaches Dex from its Secret through the env/$VAR
 *   mechanism; the ID token carries the directory's email and group.
 * - OIDC: a second Dex is the upstream identity provider; the pack's Dex logs the user in through
 *   it (the client secret reaches Dex the same way; its CA from the connector's rootCARef on 2.41+).
 * - GitHub, GitLab, Microsoft, generic OAuth 2 and SAML (their upstreams are on the internet): the
 *   login page lists each, and each sends the browser to its provider with the rendered client id
 *   and redirect URI (the redirect is read, never followed: the pod has no route out).
 * - Google: Dex fetches Google's discovery when it opens the connector; with no internet here,
 *   Dex 2.45+ lists it and starts anyway; older versions exit naming accounts.google.com.
 */
import crypto from 'node:crypto';
import {
  LocalDex,
  LocalSlapd,
  RunningPod,
  bcryptHash,
  freePort,
  httpsRequest,
  jwtClaims,
  loopbackPki,
  runPod,
  startDex,
  startSlapd,
  formLogin,
} from '@backstage-dex/local-cluster';
import {
  DEX_RELEASES,
  PackSpec,
  PackSpecInput,
  compareVersions,
  findDexRelease,
  validateSpec,
  withDefaults,
} from '@backstage-dex/plugin-dex-common';
import { issueServingCertificate } from './pack/certificates';
import { DEX_PATHS } from './pack/dexConfig';
import { PackMaterial, prepareMaterial } from './pack/material';
import {
  DEX_HTTPS_PORT,
  DEX_TELEMETRY_PORT,
  authenticatorRedirectUri,
  issuerUrl,
  objectNames,
} from './pack/names';
import { KubeObject, render } from './pack/render';

jest.setTimeout(300_000);

const ALICE = {
  uid: 'alice',
  password: 'down the rabbit hole',
  email: 'alice@example.org',
  name: 'Alice Liddell',
  groups: ['developers'],
};
const UPSTREAM_USER = { email: 'bob@upstream.example', password: 'b0b s3cret' };
/** The certificate a SAML identity provider signs with (public; only parsed here). */
let samlCaPem: string;

/** Secret values the connectors reference (the test's "Secrets created beforehand"). */
const UPSTREAM_CLIENT_SECRET = crypto.randomBytes(16).toString('hex');

let slapd: LocalSlapd;
let upstream: LocalDex;
let material: PackMaterial;
let ports: { dex: number; telemetry: number; upstream: number };

/** Secrets in the pack's namespace that the connectors reference. */
function referencedSecrets(namespace: string): KubeObject[] {
  const secret = (name: string, data: Record<string, string>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    type: 'Opaque',
    data: Object.fromEntries(
      Object.entries(data).map(([k, v]) => [
        k,
        Buffer.from(v).toString('base64'),
      ]),
    ),
  });
  return [
    secret('ldap', { password: slapd.bindPassword }),
    secret('ldap-ca', { 'ca.crt': slapd.caPem }),
    secret('upstream-oidc', {
      'client-secret': UPSTREAM_CLIENT_SECRET,
      'ca.crt': material.ca.certPem,
    }),
    // Not checked by anyone here (their upstreams are on the internet), but Dex must find them.
    secret('oauth-apps', { 'client-secret': 'not-used-offline' }),
  ];
}

const oauthRef = { name: 'oauth-apps', key: 'client-secret' };

/**
 * Dex 2.45 turned continue_on_connector_failure on (2.44 has it, off): it starts when a connector
 * cannot open.
 */
const googleStartsOffline = (version: string) =>
  DEX_RELEASES.findIndex(r => r.version === version) <=
  DEX_RELEASES.findIndex(r => r.version === '2.45.1');

const oidcTakesCa = (version: string) =>
  findDexRelease(version)!.connectorRootCA.includes('oidc');

/** The connectors of the spec; Google only where Dex starts without reaching it (2.44+). */
function connectors(version: string): PackSpecInput['connectors'] {
  const release = findDexRelease(version)!;
  return [
    {
      type: 'ldap',
      id: 'ldap',
      name: 'LDAP (StartTLS)',
      host: slapd.ldapHost,
      startTLS: true,
      rootCARef: { name: 'ldap-ca', key: 'ca.crt' },
      bindDN: slapd.bindDN,
      bindPasswordRef: { name: 'ldap', key: 'password' },
      userBaseDN: slapd.peopleDN,
      groupBaseDN: slapd.groupsDN,
    },
    {
      type: 'ldap',
      id: 'ldaps',
      name: 'LDAPS',
      host: slapd.ldapsHost,
      rootCARef: { name: 'ldap-ca', key: 'ca.crt' },
      bindDN: slapd.bindDN,
      bindPasswordRef: { name: 'ldap', key: 'password' },
      userBaseDN: slapd.peopleDN,
    },
    {
      type: 'oidc',
      id: 'upstream',
      name: 'Upstream SSO',
      issuer: upstream.issuer,
      clientId: 'pack-dex',
      clientSecretRef: { name: 'upstream-oidc', key: 'client-secret' },
      ...(oidcTakesCa(version)
        ? { rootCARef: { name: 'upstream-oidc', key: 'ca.crt' } }
        : {}),
    },
    { type: 'github', clientId: 'gh-client', clientSecretRef: oauthRef },
    {
      type: 'gitlab',
      baseURL: 'https://gitlab.example.com',
      clientId: 'gl-client',
      clientSecretRef: oauthRef,
    },
    {
      type: 'microsoft',
      tenant: 'example.onmicrosoft.com',
      clientId: 'ms-client',
      clientSecretRef: oauthRef,
    },
    ...(release.connectors.includes('oauth')
      ? [
          {
            type: 'oauth' as const,
            authorizationURL: 'https://oauth.example.com/authorize',
            tokenURL: 'https://oauth.example.com/token',
            userInfoURL: 'https://oauth.example.com/userinfo',
            clientId: 'oauth-client',
            clientSecretRef: oauthRef,
          },
        ]
      : []),
    {
      type: 'saml',
      ssoURL: 'https://idp.example.com/sso',
      entityIssuer: 'https://dex.example.org/saml-sp',
      caPem: samlCaPem,
      usernameAttr: 'name',
      emailAttr: 'email',
    },
    ...(googleStartsOffline(version)
      ? [
          {
            type: 'google' as const,
            clientId: 'google-client',
            clientSecretRef: oauthRef,
          },
        ]
      : []),
  ];
}

function specFor(
  version: string,
  list: PackSpecInput['connectors'] = connectors(version),
): PackSpec {
  return withDefaults({
    cluster: 'local',
    namespace: 'connectors',
    clientId: 'kubernetes',
    dex: {
      version,
      issuerUrl: `https://127.0.0.1:${ports.dex}/dex`,
      storage: 'memory',
    },
    authenticator: { url: 'https://login.example.com' },
    connectors: list,
  });
}

/** Runs the rendered Dex Deployment with the referenced Secrets beside it; `forward`: reachable from the test. */
function runDex(spec: PackSpec, forward = true) {
  const release = findDexRelease(spec.dex.version)!;
  return runPod({
    objects: [...render(spec, material), ...referencedSecrets(spec.namespace)],
    deployment: objectNames(spec).dexDeployment,
    ports: forward
      ? {
          [DEX_HTTPS_PORT]: ports.dex,
          ...(release.telemetryHealth
            ? { [DEX_TELEMETRY_PORT]: ports.telemetry }
            : {}),
        }
      : {},
    egress: [slapd.ports.ldap, slapd.ports.ldaps, ports.upstream],
    // The upstream IdP's certificate is signed by the pack's CA. Dex from 2.41 takes it from the
    // connector's rootCARef; before, only the image's system trust store can hold it (as a
    // cluster's image would carry its organisation's CA): here, Go's SSL_CERT_FILE.
    env: oidcTakesCa(spec.dex.version)
      ? {}
      : { SSL_CERT_FILE: `${DEX_PATHS.tlsCert.replace(/[^/]+$/, '')}ca.crt` },
  });
}

function authorizeParams(spec: PackSpec): string {
  return new URLSearchParams({
    client_id: spec.clientId,
    redirect_uri: authenticatorRedirectUri(spec),
    response_type: 'code',
    scope: 'openid email profile groups',
    state: 'connectors-test',
  }).toString();
}

/** Exchanges an authorization code for the ID token, as the authenticator does. */
async function idTokenFor(spec: PackSpec, redirect: string) {
  const code = new URL(redirect).searchParams.get('code');
  if (!code) throw new Error(`no code in ${redirect}`);
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: authenticatorRedirectUri(spec),
  }).toString();
  const basic = Buffer.from(
    `${spec.clientId}:${material.clientSecrets[spec.clientId]}`,
  ).toString('base64');
  const res = await httpsRequest(`${issuerUrl(spec)}/token`, {
    caPem: material.ca.certPem,
    method: 'POST',
    headers: {
      authorization: `Basic ${basic}`,
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': String(Buffer.byteLength(body)),
    },
    body,
  });
  if (res.status !== 200)
    throw new Error(`token endpoint: HTTP ${res.status} ${res.body}`);
  return jwtClaims(JSON.parse(res.body).id_token);
}

const decodeEntities = (s: string) =>
  s
    .replace(/&amp;/g, '&')
    .replace(/&#43;/g, '+')
    .replace(/&#x2F;/gi, '/');

/**
 * Where the login page's link to a connector goes: Dex before 2.30 starts a connector's login only
 * from the auth request the login page made (`/auth/<id>?req=...`).
 */
async function connectorUrl(spec: PackSpec, connectorId: string) {
  const page = `${issuerUrl(spec)}/auth?${authorizeParams(spec)}`;
  const res = await httpsRequest(page, { caPem: material.ca.certPem });
  const href = new RegExp(`href="([^"]*/auth/${connectorId}\\?[^"]*)"`).exec(
    res.body,
  )?.[1];
  if (!href)
    throw new Error(
      `no link to connector ${connectorId} on the login page (HTTP ${res.status}):\n${res.body.slice(0, 1000)}`,
    );
  return new URL(decodeEntities(href), page).toString();
}

/**
 * Follows Dex's redirects while they stay on Dex, and returns the first response that leaves it
 * (a redirect to the provider) or does not redirect (a page): nothing is sent off the machine.
 */
async function toProvider(spec: PackSpec, connectorId: string) {
  let url = await connectorUrl(spec, connectorId);
  const dexOrigin = new URL(issuerUrl(spec)).origin;
  for (let hop = 0; hop < 5; hop++) {
    const res = await httpsRequest(url, { caPem: material.ca.certPem });
    const location = res.headers.location;
    if (res.status < 300 || res.status >= 400 || typeof location !== 'string')
      return { page: res.body, status: res.status };
    url = new URL(location, url).toString();
    if (new URL(url).origin !== dexOrigin) return { redirect: new URL(url) };
  }
  throw new Error(`more than 5 redirects inside Dex from ${connectorId}`);
}

beforeAll(async () => {
  ports = {
    dex: await freePort(),
    telemetry: await freePort(),
    upstream: await freePort(),
  };
  slapd = await startSlapd({ users: [ALICE] });
  samlCaPem = loopbackPki('saml-idp').caPem;
  // One CA for the pack's Dex and the upstream IdP: one trust anchor for the scripted browser.
  material = prepareMaterial(specFor(DEX_RELEASES[0].version, []), {}).material;
  const upstreamTls = issueServingCertificate(material.ca, {
    commonName: 'upstream-idp',
    names: ['127.0.0.1'],
  });
  const upstreamIssuer = `https://127.0.0.1:${ports.upstream}/upstream`;
  upstream = await startDex({
    version: 'v2.45.1',
    caPem: material.ca.certPem,
    files: { 'tls.crt': upstreamTls.certPem, 'tls.key': upstreamTls.keyPem },
    configYaml: JSON.stringify({
      issuer: upstreamIssuer,
      storage: { type: 'memory' },
      web: {
        https: `127.0.0.1:${ports.upstream}`,
        tlsCert: 'tls.crt',
        tlsKey: 'tls.key',
      },
      oauth2: { skipApprovalScreen: true },
      enablePasswordDB: true,
      staticPasswords: [
        {
          email: UPSTREAM_USER.email,
          username: 'bob',
          userID: '1c6f3e52-7d3e-4c5a-9d7e-2f4b1b0c9a11',
          hash: await bcryptHash(UPSTREAM_USER.password),
        },
      ],
      staticClients: [
        {
          id: 'pack-dex',
          name: 'The pack',
          secret: UPSTREAM_CLIENT_SECRET,
          redirectURIs: [`https://127.0.0.1:${ports.dex}/dex/callback`],
        },
      ],
    }),
  });
});

afterAll(async () => {
  await Promise.all([slapd?.stop(), upstream?.stop()]);
});

describe.each(DEX_RELEASES.map(r => r.version))('Dex %s', version => {
  let spec: PackSpec;
  let dex: RunningPod | undefined;

  beforeAll(async () => {
    spec = specFor(version);
    const problems = validateSpec(spec);
    if (problems.length)
      throw new Error(
        `the test's spec is invalid: ${JSON.stringify(problems)}`,
      );
    dex = await runDex(spec);
    await dex.ready(60_000);
  });
  afterAll(() => dex?.stop());

  it('lists every connector on its login page', async () => {
    const res = await httpsRequest(
      `${issuerUrl(spec)}/auth?${authorizeParams(spec)}`,
      { caPem: material.ca.certPem },
    );
    expect(res.status).toBe(200);
    const listed = [...res.body.matchAll(/href="[^"]*\/auth\/([\w-]+)\?/g)]
      .map(m => m[1])
      .sort();
    expect(listed).toEqual(spec.connectors.map(c => c.id).sort());
    for (const c of spec.connectors) expect(res.body).toContain(c.name);
  });

  it.each(['ldap', 'ldaps'])(
    'logs a directory user in through %s (bind password from its Secret, server CA from its Secret)',
    async connectorId => {
      const login = await formLogin({
        startUrl: await connectorUrl(spec, connectorId),
        caPem: material.ca.certPem,
        username: ALICE.uid,
        password: ALICE.password,
        stopAt: authenticatorRedirectUri(spec),
      });
      expect(login.url).toMatch(
        new RegExp(`^${authenticatorRedirectUri(spec)}\\?code=`),
      );
      const claims = await idTokenFor(spec, login.url);
      expect(claims).toMatchObject({
        aud: 'kubernetes',
        email: ALICE.email,
        name: ALICE.name,
      });
      // Only the StartTLS connector searches groups (2.21 reads userAttr/groupAttr, later userMatchers).
      expect(claims.groups).toEqual(
        connectorId === 'ldap' ? ALICE.groups : undefined,
      );
    },
  );

  it('refuses a wrong LDAP password on its login form', async () => {
    const login = await formLogin({
      startUrl: await connectorUrl(spec, 'ldap'),
      caPem: material.ca.certPem,
      username: ALICE.uid,
      password: 'not the password',
      stopAt: authenticatorRedirectUri(spec),
    });
    // The form again (200, or 401 from 2.4x), with the error; no code for the client.
    expect(login.url).not.toContain(authenticatorRedirectUri(spec));
    expect([200, 401]).toContain(login.status);
    expect(login.body).toMatch(/Invalid (username and password|credentials)/i);
  });

  it(`logs a user in through an upstream OpenID Connect provider (a second Dex)${oidcTakesCa(version) ? ", trusting it by the connector's rootCARef" : ''}`, async () => {
    const login = await formLogin({
      startUrl: await connectorUrl(spec, 'upstream'),
      caPem: material.ca.certPem,
      username: UPSTREAM_USER.email,
      password: UPSTREAM_USER.password,
      stopAt: authenticatorRedirectUri(spec),
    });
    expect(
      login.visited.some(v => v.startsWith(`GET ${upstream.issuer}`)),
    ).toBe(true);
    expect(login.url).toMatch(
      new RegExp(`^${authenticatorRedirectUri(spec)}\\?code=`),
    );
    expect(await idTokenFor(spec, login.url)).toMatchObject({
      aud: 'kubernetes',
      email: UPSTREAM_USER.email,
    });
  });

  it('sends the browser to each OAuth provider with the rendered client id and redirect URI', async () => {
    const expected: Record<string, string> = {
      github: 'https://github.com/login/oauth/authorize',
      gitlab: 'https://gitlab.example.com/oauth/authorize',
      microsoft:
        'https://login.microsoftonline.com/example.onmicrosoft.com/oauth2/v2.0/authorize',
      oauth: 'https://oauth.example.com/authorize',
    };
    const seen: Record<string, unknown> = {};
    for (const c of spec.connectors.filter(x => expected[x.type])) {
      const { redirect } = await toProvider(spec, c.id);
      seen[c.type] = redirect && {
        to: `${redirect.origin}${redirect.pathname}`,
        clientId: redirect.searchParams.get('client_id'),
        redirectUri: redirect.searchParams.get('redirect_uri'),
      };
    }
    expect(seen).toEqual(
      Object.fromEntries(
        spec.connectors
          .filter(x => expected[x.type])
          .map(c => [
            c.type,
            {
              to: expected[c.type],
              clientId: (c as { clientId: string }).clientId,
              // Dex 2.21's GitHub connector checks the rendered redirectURI against its callback
              // (a mismatch is an error) and leaves it out: GitHub uses the OAuth app's setting.
              redirectUri:
                c.type === 'github' && compareVersions(version, '2.25.0') < 0
                  ? null
                  : `${issuerUrl(spec)}/callback`,
            },
          ]),
      ),
    );
  });

  it('posts a SAML authentication request (our entity issuer, our callback) to the identity provider', async () => {
    const { page } = await toProvider(spec, 'saml');
    expect(page).toContain('action="https://idp.example.com/sso"');
    const encoded = /name="SAMLRequest" value="([^"]+)"/.exec(page!)?.[1];
    const request = Buffer.from(
      decodeEntities(encoded ?? ''),
      'base64',
    ).toString('utf8');
    expect(request).toContain(
      `AssertionConsumerServiceURL="${issuerUrl(spec)}/callback"`,
    );
    expect(request).toMatch(
      /<Issuer [^>]*>https:\/\/dex\.example\.org\/saml-sp<\/Issuer>/,
    );
  });

  if (!googleStartsOffline(version)) {
    it('loads the Google connector and exits only because accounts.google.com is out of reach', async () => {
      const google = specFor(version, [
        {
          type: 'google',
          clientId: 'google-client',
          clientSecretRef: oauthRef,
        },
      ]);
      const pod = await runDex(google, false);
      try {
        await pod.exited;
        expect(pod.logs()).toMatch(
          /Failed to open connector google: .*accounts\.google\.com/,
        );
      } finally {
        await pod.stop();
      }
    });
  }
});
