import { describeKubeError } from './errors';

const http = (code: number, message: string) =>
  Object.assign(new Error(`HTTP-Code: ${code}`), {
    code,
    body: JSON.stringify({ message }),
  });

describe('describeKubeError', () => {
  it.each([
    [
      401,
      'AuthenticationError',
      'reading x: the cluster rejected the credentials (401); check serviceAccountToken',
    ],
    [
      403,
      'NotAllowedError',
      'reading x: forbidden (403): secrets is forbidden; grant the service account the RBAC it needs',
    ],
    [409, 'ConflictError', 'reading x: conflict (409): secrets is forbidden'],
    [
      422,
      'Error',
      'reading x: the apiserver refused the object (422): secrets is forbidden',
    ],
    [500, 'Error', 'reading x: 500 secrets is forbidden'],
  ])('%s: a %s saying what to change', (code, name, message) => {
    const e = describeKubeError(
      http(code, 'secrets is forbidden'),
      'reading x',
    );
    expect(e.name).toBe(name);
    expect(e.message).toBe(message);
  });

  it('an untrusted certificate: says to set caData', () => {
    const e = describeKubeError(
      Object.assign(new Error('fetch failed'), {
        cause: { code: 'SELF_SIGNED_CERT_IN_CHAIN' },
      }),
      'reading x',
    );
    expect(e.name).toBe('ServiceUnavailableError');
    expect(e.message).toMatch(
      /not trusted \(SELF_SIGNED_CERT_IN_CHAIN\); set caData/,
    );
  });

  it('an unreachable cluster: says to check the url', () => {
    const e = describeKubeError(
      Object.assign(new Error('fetch failed'), {
        cause: { code: 'ECONNREFUSED' },
      }),
      'reading x',
    );
    expect(e.message).toBe(
      'reading x: the cluster is unreachable (ECONNREFUSED); check the cluster url and that it is up',
    );
  });

  it('never repeats a request body (it may hold secrets)', () => {
    const e = describeKubeError(
      Object.assign(new Error('HTTP-Code: 422'), {
        code: 422,
        body: 'not json',
        request: { body: 'c2VjcmV0' },
      }),
      'applying Secret a/b',
    );
    expect(e.message).not.toContain('c2VjcmV0');
  });
});
