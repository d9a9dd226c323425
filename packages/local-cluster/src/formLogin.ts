import { httpsRequest } from './https';

export interface FormLoginOptions {
  /** Where the user starts: Dex's authorize URL, or the authenticator's page. */
  startUrl: string;
  /** The one CA every server on the way is trusted with (the pack's CA). */
  caPem: string;
  username: string;
  password: string;
  /** Stop at a redirect to a URL starting with this (a client's redirect URI nobody serves here). */
  stopAt?: string;
}

export interface FormLoginResult {
  /** The last URL: the page shown at the end, or the redirect that matched `stopAt`. */
  url: string;
  status: number;
  body: string;
  /** Every URL requested, in order (for assertions and error messages). */
  visited: string[];
}

const decodeEntities = (s: string) =>
  s
    .replace(/&amp;/g, '&')
    .replace(/&#43;/g, '+')
    .replace(/&#x2F;/gi, '/')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"');

/** The action of the form that has a password field, when the page shows one. */
function passwordFormAction(html: string): string | undefined {
  for (const form of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    if (!/<input\b[^>]*name="password"/i.test(form[2])) continue;
    const action = /\baction="([^"]*)"/i.exec(form[1])?.[1];
    return decodeEntities(action ?? '');
  }
  return undefined;
}

/**
 * Logs in the way a browser does, without a browser: follows redirects, and on the page with
 * Dex's login form posts the username and password to it, until a page that is not a redirect
 * (or a redirect to `stopAt`). Every hop is HTTPS trusting only `caPem`; Dex's login keeps its
 * state in the URL, so no cookies are needed.
 */
export async function formLogin(
  options: FormLoginOptions,
): Promise<FormLoginResult> {
  const visited: string[] = [];
  let url = options.startUrl;
  let request: { method: string; body?: string } = { method: 'GET' };
  let posted = false;
  for (let hop = 0; hop < 20; hop++) {
    visited.push(`${request.method} ${url}`);
    const res = await httpsRequest(url, {
      caPem: options.caPem,
      method: request.method,
      headers: request.body
        ? {
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': String(Buffer.byteLength(request.body)),
          }
        : {},
      body: request.body,
    });
    const location = res.headers.location;
    if (res.status >= 300 && res.status < 400 && typeof location === 'string') {
      url = new URL(location, url).toString();
      request = { method: 'GET' };
      if (options.stopAt && url.startsWith(options.stopAt))
        return { url, status: res.status, body: res.body, visited };
      continue;
    }
    const action =
      res.status === 200 && !posted ? passwordFormAction(res.body) : undefined;
    if (action === undefined)
      return { url, status: res.status, body: res.body, visited };
    url = new URL(action || url, url).toString();
    request = {
      method: 'POST',
      body: new URLSearchParams({
        login: options.username,
        password: options.password,
      }).toString(),
    };
    posted = true;
  }
  throw new Error(`formLogin: more than 20 hops: ${visited.join(' -> ')}`);
}
