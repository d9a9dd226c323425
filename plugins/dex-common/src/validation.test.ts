import { PackSpecInput, ServiceType } from './types';
import { DEFAULT_POLICY, PlatformPolicy, resolveSpec } from './validation';

const valid: PackSpecInput = {
  cluster: 'prod',
  namespace: 'dex',
  dex: {
    exposure: {
      serviceType: 'ClusterIP',
      ingress: { enabled: true, hosts: ['dex.example.com'] },
    },
  },
};

function problems(input: Record<string, unknown>, policy?: PlatformPolicy) {
  return resolveSpec({ ...valid, ...input }, policy).problems;
}

const secretRef = { name: 'upstream', key: 'secret' };

describe('resolveSpec', () => {
  it('accepts a minimal spec and fills the defaults', () => {
    const { spec, problems: found } = resolveSpec(valid);
    expect(found).toEqual([]);
    expect(spec.dex.version).toBe(DEFAULT_POLICY.dex.defaultVersion);
    expect(spec.instance).toBe('dex');
    expect(spec.authenticator.enabled).toBe(true);
    expect(spec.claims).toEqual({
      usernameClaim: 'email',
      usernamePrefix: undefined,
      groupsClaim: 'groups',
      groupsPrefix: 'oidc:',
    });
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    [
      'namespace with capitals',
      { namespace: 'Team_A' },
      'namespace',
      /DNS-1123 label/,
    ],
    [
      'instance too long',
      { instance: 'x'.repeat(41) },
      'instance',
      /at most 40/,
    ],
    [
      'unknown Dex version',
      { dex: { ...valid.dex, version: '9.9.9' } },
      'dex.version',
      /not in the catalogue; choose one of 2\.45\.1/,
    ],
    [
      'serviceType typo',
      { dex: { exposure: { serviceType: 'LoadBalancr' } } },
      'dex.exposure.serviceType',
      /one of ClusterIP, LoadBalancer, NodePort; got "LoadBalancr"/,
    ],
    [
      'Ingress without hosts',
      {
        dex: {
          exposure: {
            serviceType: 'ClusterIP',
            ingress: { enabled: true, hosts: [] },
          },
        },
      },
      'dex.exposure.ingress.hosts',
      /at least one host/,
    ],
    [
      'host with a scheme',
      {
        dex: {
          exposure: {
            serviceType: 'ClusterIP',
            ingress: { enabled: true, hosts: ['https://dex.example.com'] },
          },
        },
      },
      'dex.exposure.ingress.hosts[0]',
      /not a valid host name/,
    ],
    [
      'wildcard host',
      {
        dex: {
          exposure: {
            serviceType: 'ClusterIP',
            ingress: { enabled: true, hosts: ['*.example.com'] },
          },
        },
      },
      'dex.exposure.ingress.hosts[0]',
      /without scheme, port, path or wildcard/,
    ],
    [
      'relative ingress path',
      {
        dex: {
          exposure: {
            serviceType: 'ClusterIP',
            ingress: { enabled: true, hosts: ['a.b'], path: 'dex' },
          },
        },
      },
      'dex.exposure.ingress.path',
      /absolute path/,
    ],
    [
      'http issuer',
      { dex: { ...valid.dex, issuerUrl: 'http://dex.example.com' } },
      'dex.issuerUrl',
      /must use https/,
    ],
    [
      'negative replicas',
      { dex: { ...valid.dex, replicas: -1 } },
      'dex.replicas',
      /whole number from 1 to 20; got -1/,
    ],
    [
      'memory storage with 2 replicas',
      { dex: { ...valid.dex, storage: 'memory', replicas: 2 } },
      'dex.replicas',
      /memory storage is per pod/,
    ],
    [
      'Dex 2.28 on Kubernetes 1.35 with CRD storage asked for',
      {
        dex: { ...valid.dex, version: '2.28.0', storage: 'kubernetes' },
        kubernetesVersion: 'v1.35.4',
      },
      'dex.version',
      /v1beta1 CRDs, which Kubernetes v1\.35\.4 no longer serves.*choose Dex 2\.30\.0 or newer, or set dex\.storage: memory/,
    ],
    [
      'unknown authenticator version',
      { authenticator: { version: '0.1.0' } },
      'authenticator.version',
      /dex-k8s-authenticator version "0\.1\.0" is not in the catalogue/,
    ],
    [
      'connector secret inline',
      {
        connectors: [
          {
            type: 'github',
            id: 'gh',
            name: 'GitHub',
            clientId: 'x',
            clientSecret: 'hunter2',
            clientSecretRef: secretRef,
          },
        ],
      },
      'connectors[0].clientSecret',
      /never given inline/,
    ],
    [
      'OIDC connector without issuer',
      {
        connectors: [
          {
            type: 'oidc',
            id: 'up',
            name: 'Up',
            clientId: 'x',
            clientSecretRef: secretRef,
          },
        ],
      },
      'connectors[0].issuer',
      /a URL is required/,
    ],
    [
      'LDAP connector without bind password',
      {
        connectors: [
          {
            type: 'ldap',
            id: 'ldap',
            name: 'LDAP',
            host: 'ldap.example.com:636',
            bindDN: 'cn=x',
            userBaseDN: 'ou=people',
          },
        ],
      },
      'connectors[0].bindPasswordRef',
      /Secret reference/,
    ],
    [
      'unknown connector type',
      { connectors: [{ type: 'keystone', id: 'ks', name: 'Keystone' }] },
      'connectors[0].type',
      /use github, gitlab, microsoft, google, oidc, oauth, saml, ldap/,
    ],
    [
      'duplicate connector ids',
      {
        connectors: [
          {
            type: 'github',
            id: 'gh',
            name: 'a',
            clientId: 'x',
            clientSecretRef: secretRef,
          },
          {
            type: 'github',
            id: 'gh',
            name: 'b',
            clientId: 'y',
            clientSecretRef: secretRef,
          },
        ],
      },
      'connectors[1].id',
      /duplicate connector id "gh"/,
    ],
    [
      'duplicate static client ids',
      {
        staticClients: [
          { id: 'app', redirectURIs: ['https://a/cb'] },
          { id: 'app', redirectURIs: ['https://b/cb'] },
        ],
      },
      'staticClients[1].id',
      /duplicate static client id "app"/,
    ],
    [
      'static client taking the id of the public kubectl client',
      { staticClients: [{ id: 'kubectl', public: true }] },
      'staticClients[0].id',
      /pack's public client for kubectl/,
    ],
    [
      'pack client id taken from the public kubectl client',
      { clientId: 'kubectl' },
      'clientId',
      /pack's public client for kubectl \(kubelogin\); choose another clientId/,
    ],
    [
      'static client reusing the pack client id',
      { staticClients: [{ id: 'kubernetes', redirectURIs: ['https://a/cb'] }] },
      'staticClients[0].id',
      /pack's own client/,
    ],
    [
      'redirect URI over http',
      {
        staticClients: [
          { id: 'app', redirectURIs: ['http://app.example.com/cb'] },
        ],
      },
      'staticClients[0].redirectURIs[0]',
      /must use https \(http is allowed only for localhost\)/,
    ],
    [
      'static user groups before Dex 2.45',
      {
        dex: { ...valid.dex, version: '2.35.1' },
        staticUsers: [
          {
            email: 'a@b.c',
            username: 'a',
            passwordRef: secretRef,
            groups: ['x'],
          },
        ],
      },
      'staticUsers[0].groups',
      /need Dex 2\.45\.0 or newer/,
    ],
    [
      'static user password inline',
      { staticUsers: [{ email: 'a@b.c', username: 'a', password: 'pw' }] },
      'staticUsers[0].password',
      /never given inline/,
    ],
    [
      'bad expiry',
      { expiry: { idTokens: '1 day' } },
      'expiry.idTokens',
      /write e\.g\. 24h/,
    ],
    [
      'annotation value with control characters',
      {
        dex: {
          exposure: {
            serviceType: 'ClusterIP',
            ingress: {
              enabled: true,
              hosts: ['a.b'],
              annotations: { 'x/y': 'a\u0000b' },
            },
          },
        },
      },
      'dex.exposure.ingress.annotations["x/y"]',
      /control characters/,
    ],
    [
      'oversized annotation',
      {
        dex: {
          exposure: {
            serviceType: 'ClusterIP',
            ingress: {
              enabled: true,
              hosts: ['a.b'],
              annotations: { 'x/y': 'a'.repeat(5000) },
            },
          },
        },
      },
      'dex.exposure.ingress.annotations["x/y"]',
      /keep it under 4096/,
    ],
    [
      'kubernetes id with spaces',
      { kubernetesId: 'payments api' },
      'kubernetesId',
      /label value/,
    ],
    [
      'image registry with scheme',
      { imageRegistry: 'https://registry.example.com' },
      'imageRegistry',
      /registry host/,
    ],
  ])('%s', (_name, input, field, message) => {
    const found = problems(input);
    const match = found.find(p => p.field === field);
    expect(match).toBeDefined();
    expect(match!.message).toMatch(message);
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    [
      'authenticator.enable (for enabled)',
      { authenticator: { enable: false } },
      'authenticator.enable',
      'unknown field; did you mean "enabled"?',
    ],
    [
      'dex.replica (for replicas)',
      { dex: { replica: 2 } },
      'dex.replica',
      'unknown field; did you mean "replicas"?',
    ],
    [
      'a top-level connector (for connectors)',
      { connector: [{ type: 'github' }] },
      'connector',
      'unknown field; did you mean "connectors"?',
    ],
    [
      'an ingress field under dex (for exposure)',
      { dex: { exposur: {} } },
      'dex.exposur',
      'unknown field; did you mean "exposure"?',
    ],
    [
      'an exposure field one level too high',
      { dex: { extraNames: ['a.b'] } },
      'dex.extraNames',
      'unknown field; did you mean "exposure.extraNames"?',
    ],
  ])(
    'refuses an unknown field, naming the nearest known one: %s',
    (_name, input, field, message) => {
      expect(problems(input)).toContainEqual({ field, message });
    },
  );

  it('lists the known fields when no known one is near', () => {
    expect(problems({ dex: { colour: 'blue' } })).toContainEqual({
      field: 'dex.colour',
      message: expect.stringMatching(
        /^unknown field; known fields: version, exposure, replicas, resources, issuerUrl, storage$/,
      ),
    });
  });

  it('says which type a field needs', () => {
    expect(problems({ dex: { replicas: 'two' } })).toContainEqual({
      field: 'dex.replicas',
      message: 'must be a number; got "two"',
    });
    expect(problems({ connectors: { type: 'github' } })).toContainEqual({
      field: 'connectors',
      message: 'must be a list; got an object',
    });
    expect(resolveSpec({}).problems).toContainEqual({
      field: 'cluster',
      message: 'name the target cluster',
    });
    expect(resolveSpec('cluster: x').problems).toContainEqual({
      field: '',
      message: 'must be an object; got "cluster: x"',
    });
  });

  it('takes empty form fields as not given', () => {
    const { spec, problems: found } = resolveSpec({
      ...valid,
      namespace: '',
      instance: null,
      dex: { ...valid.dex, issuerUrl: '' },
    });
    expect(found).toEqual([]);
    expect(spec.namespace).toBe('dex');
    expect(spec.instance).toBe('dex');
    expect(spec.dex.issuerUrl).toBeUndefined();
  });

  it('refuses a version the platform does not allow, naming the allowed ones', () => {
    const policy: PlatformPolicy = {
      ...DEFAULT_POLICY,
      dex: { allowedVersions: ['2.45.1'], defaultVersion: '2.45.1' },
    };
    const found = problems(
      { dex: { ...valid.dex, version: '2.30.0' } },
      policy,
    );
    expect(found).toEqual([
      {
        field: 'dex.version',
        message:
          'Dex version 2.30.0 is not allowed by the platform (dex: config); allowed: 2.45.1',
      },
    ]);
  });

  it('reports every problem at once', () => {
    const found = problems({
      namespace: 'A',
      instance: '-x',
      dex: {
        version: '1.0.0',
        exposure: { serviceType: 'Nope' as ServiceType },
      },
    });
    expect(found.map(p => p.field)).toEqual(
      expect.arrayContaining([
        'namespace',
        'instance',
        'dex.version',
        'dex.exposure.serviceType',
      ]),
    );
  });
});
