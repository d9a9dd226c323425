import bcrypt from 'bcryptjs';
import { httpsRequest } from './https';

export interface PasswordGrantOptions {
  /** Dex's issuer URL, e.g. https://127.0.0.1:5556/dex (its discovery names the token endpoint). */
  issuer: string;
  /** PEM of the CA that signed Dex's serving certificate; nothing else is trusted. */
  caPem: string;
  clientId: string;
  clientSecret: string;
  /** For Dex's local password connector: the static user's email. */
  username: string;
  password: string;
  /** Defaults to `openid email profile groups`. */
  scope?: string;
}

/**
 * Gets an ID token by the OAuth2 resource-owner password grant (Dex: `oauth2.passwordConnector`
 * set, Dex >= 2.23). Fails with Dex's error response when the grant is refused.
 */
export async function passwordGrant(
  options: PasswordGrantOptions,
): Promise<string> {
  const issuer = options.issuer.replace(/\/$/, '');
  const discoveryRes = await httpsRequest(
    `${issuer}/.well-known/openid-configuration`,
    { caPem: options.caPem },
  );
  if (discoveryRes.status !== 200) {
    throw new Error(
      `OIDC discovery at ${issuer} answered HTTP ${discoveryRes.status}: ${discoveryRes.body.slice(0, 500)}`,
    );
  }
  const tokenEndpoint = JSON.parse(discoveryRes.body).token_endpoint as
    string | undefined;
  if (!tokenEndpoint)
    throw new Error(`OIDC discovery at ${issuer} names no token_endpoint`);
  const body = new URLSearchParams({
    grant_type: 'password',
    username: options.username,
    password: options.password,
    scope: options.scope ?? 'openid email profile groups',
  }).toString();
  // client_secret_basic: both parts are form-encoded before base64 (RFC 6749 2.3.1).
  const basic = Buffer.from(
    `${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`,
  ).toString('base64');
  const res = await httpsRequest(tokenEndpoint, {
    caPem: options.caPem,
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': String(Buffer.byteLength(body)),
      accept: 'application/json',
      authorization: `Basic ${basic}`,
    },
    body,
  });
  if (res.status !== 200) {
    throw new Error(
      `Password grant for client ${options.clientId} at ${tokenEndpoint} answered HTTP ${res.status}: ${res.body.slice(0, 500)}`,
    );
  }
  const idToken = JSON.parse(res.body).id_token as string | undefined;
  if (!idToken)
    throw new Error(`Password grant at ${tokenEndpoint} returned no id_token`);
  return idToken;
}

export interface SelfSubjectReviewResult {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** Reads the claims of a JWT (no verification): for error messages and assertions. */
export function jwtClaims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  if (!payload) throw new Error('not a JWT');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
}

/**
 * Asks the kube-apiserver at `server` who `token` is (POST
 * /apis/authentication.k8s.io/v1/selfsubjectreviews) and returns the user it authenticated.
 *
 * An apiserver configured with an OIDC issuer fetches the issuer's discovery and keys
 * asynchronously after it starts, so a valid token is refused (401) for a while: by default the
 * review is retried for 20 s until it succeeds. Pass `retryMs: 0` to assert a refusal. Fails with
 * the last HTTP status and body (the error message contains e.g. `HTTP 401`).
 */
export async function selfSubjectReview(
  server: string,
  caPem: string,
  token: string,
  options: { retryMs?: number; intervalMs?: number } = {},
): Promise<SelfSubjectReviewResult> {
  const deadline = Date.now() + (options.retryMs ?? 20_000);
  const body = JSON.stringify({
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'SelfSubjectReview',
  });
  for (;;) {
    let failure: string;
    try {
      const res = await httpsRequest(
        `${server.replace(/\/$/, '')}/apis/authentication.k8s.io/v1/selfsubjectreviews`,
        {
          caPem,
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            accept: 'application/json',
          },
          body,
        },
      );
      if (res.status === 201 || res.status === 200) {
        const userInfo = JSON.parse(res.body).status?.userInfo ?? {};
        return {
          username: userInfo.username,
          uid: userInfo.uid,
          groups: userInfo.groups ?? [],
          extra: userInfo.extra,
        };
      }
      failure = `HTTP ${res.status}: ${res.body.trim().slice(0, 500)}`;
    } catch (e) {
      failure = (e as Error).message;
    }
    if (Date.now() >= deadline) {
      throw new Error(`SelfSubjectReview at ${server} failed: ${failure}`);
    }
    await new Promise(r => setTimeout(r, options.intervalMs ?? 500));
  }
}

/** A bcrypt hash Dex accepts for a static password (Dex refuses costs below 10). */
export function bcryptHash(password: string, cost = 10): Promise<string> {
  return bcrypt.hash(password, cost);
}
