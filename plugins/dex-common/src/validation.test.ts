import { PackSpecInput, ServiceType } from './types';
import { DEFAULT_POLICY, PlatformPolicy } from './policy';
import { resolveSpec } from './validation';

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
      'CRD storage on Kubernetes 1.15 (no apiextensions.k8s.io/v1)',
      {
        dex: { ...valid.dex, storage: 'kubernetes' },
        kubernetesVersion: 'v1.15.12',
      },
      'dex.storage',
      /kubernetes storage needs CustomResourceDefinitions of apiextensions\.k8s\.io\/v1, which Kubernetes v1\.15\.12 does not serve \(from 1\.16\): set dex\.storage: memory/,
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
      'an image registry in the spec (platform policy only)',
      { imageRegistry: 'registry.example.com' },
      'imageRegistry',
      /chosen by the platform, not in the spec: remove imageRegistry; the platform team sets dex\.policy\.imageRegistry/,
    ],
    // Values that become kube-apiserver flags, URLs or paths: no whitespace, no control characters.
    [
      'an issuer URL carrying a second flag after a newline',
      {
        dex: {
          ...valid.dex,
          issuerUrl:
            'https://dex.example.com\n--authorization-mode=AlwaysAllow',
        },
      },
      'dex.issuerUrl',
      /contains whitespace or control characters; remove them/,
    ],
    [
      'an issuer URL with a space',
      { dex: { ...valid.dex, issuerUrl: 'https://dex.example.com/a b' } },
      'dex.issuerUrl',
      /contains whitespace or control characters/,
    ],
    [
      'an issuer URL with a tab (which the URL parser would drop silently)',
      { dex: { ...valid.dex, issuerUrl: 'https://dex.example.com/\tdex' } },
      'dex.issuerUrl',
      /contains whitespace or control characters/,
    ],
    [
      'an issuer URL with a non-breaking space',
      { dex: { ...valid.dex, issuerUrl: 'https://dex.example.com/\u00a0dex' } },
      'dex.issuerUrl',
      /contains whitespace or control characters/,
    ],
    [
      'apiServerCaFile carrying a second flag',
      {
        apiServerCaFile:
          '/etc/kubernetes/pki/dex-ca.crt\n--authorization-mode=AlwaysAllow',
      },
      'apiServerCaFile',
      /contains whitespace or control characters; remove them \(the path becomes a kube-apiserver flag\)/,
    ],
    [
      'apiServerCaFile with a space',
      { apiServerCaFile: '/etc/kubernetes/pki/dex ca.crt' },
      'apiServerCaFile',
      /contains whitespace/,
    ],
    [
      'apiServerCaFile with .. segments',
      { apiServerCaFile: '/etc/kubernetes/pki/../../root/ca.crt' },
      'apiServerCaFile',
      /no \. or \.\. segments/,
    ],
    [
      'apiServerCaFile that is relative',
      { apiServerCaFile: 'pki/dex-ca.crt' },
      'apiServerCaFile',
      /must be an absolute path on the control-plane nodes/,
    ],
    [
      'a redirect URI with a newline',
      {
        staticClients: [
          { id: 'app', redirectURIs: ['https://app.example.com/cb\nx'] },
        ],
      },
      'staticClients[0].redirectURIs[0]',
      /contains whitespace or control characters/,
    ],
    [
      'an authenticator URL with a carriage return',
      { authenticator: { url: 'https://login.example.com/\r' } },
      'authenticator.url',
      /contains whitespace or control characters/,
    ],
    [
      'an upstream OIDC issuer with a space',
      {
        connectors: [
          {
            type: 'oidc',
            issuer: 'https://sso.example.com /x',
            clientId: 'dex',
            clientSecretRef: secretRef,
          },
        ],
      },
      'connectors[0].issuer',
      /contains whitespace or control characters/,
    ],
    [
      'a cluster name that carries a path',
      { cluster: 'prod/../evil' },
      'cluster',
      /is not a cluster name: .*without whitespace, control characters or \//,
    ],
    [
      'a cluster name with a newline',
      { cluster: 'prod\nx' },
      'cluster',
      /is not a cluster name/,
    ],
    [
      'a Kubernetes version that is not one',
      { kubernetesVersion: 'v1.35.4\n--x' },
      'kubernetesVersion',
      /is not a Kubernetes version: write it as v1\.35\.4/,
    ],
    [
      'a groups claim with a tab',
      { claims: { groupsClaim: 'groups\tx' } },
      'claims.groupsClaim',
      /is not a claim name/,
    ],
    [
      'a username prefix with a newline',
      { claims: { usernamePrefix: 'oidc:\n--x' } },
      'claims.usernamePrefix',
      /must not contain whitespace or control characters/,
    ],
    // system: prefixes, always
    [
      'a groups prefix of system:',
      { claims: { groupsPrefix: 'system:' } },
      'claims.groupsPrefix',
      /starts with system:, which the kube-apiserver reserves .*use a prefix such as oidc:/,
    ],
    [
      'a username prefix starting with System: (any case)',
      { claims: { usernamePrefix: 'System:oidc:' } },
      'claims.usernamePrefix',
      /starts with system:/,
    ],
    [
      'a groups prefix an upstream group could complete to system:',
      { claims: { groupsPrefix: 'sys' } },
      'claims.groupsPrefix',
      /is the start of system:, so an upstream name could complete it/,
    ],
    // Platform policy (defaults)
    [
      'an empty groups prefix',
      { claims: { groupsPrefix: '' } },
      'claims.groupsPrefix',
      /an empty groups prefix lets upstream groups reach the kube-apiserver as they are .*dex\.policy\.allowEmptyClaimPrefixes \(or dex\.clusters\.prod\.policy\.allowEmptyClaimPrefixes\)/,
    ],
    [
      'an empty username prefix',
      { claims: { usernamePrefix: '' } },
      'claims.usernamePrefix',
      /an empty username prefix/,
    ],
    [
      "the kube-apiserver's spelling of no username prefix",
      { claims: { usernamePrefix: '-' } },
      'claims.usernamePrefix',
      /an empty username prefix/,
    ],
    [
      'kube-system',
      { namespace: 'kube-system' },
      'namespace',
      /"kube-system" is one of the cluster's own namespaces .*choose another namespace; the platform team can allow it by listing "kube-system" exactly in dex\.policy\.namespaces/,
    ],
    [
      'default',
      { namespace: 'default' },
      'namespace',
      /one of the cluster's own namespaces/,
    ],
    [
      'a server-snippet annotation',
      {
        dex: {
          exposure: {
            ingress: {
              enabled: true,
              hosts: ['a.b'],
              annotations: {
                'nginx.ingress.kubernetes.io/server-snippet': 'return 200;',
              },
            },
          },
        },
      },
      'dex.exposure.ingress.annotations["nginx.ingress.kubernetes.io/server-snippet"]',
      /lets the Ingress controller run configuration or change authentication .*remove it; the platform team can allow it only by listing "nginx\.ingress\.kubernetes\.io\/server-snippet" exactly in dex\.policy\.ingressAnnotations/,
    ],
    [
      'an auth-url annotation on the authenticator',
      {
        authenticator: {
          exposure: {
            ingress: {
              enabled: true,
              hosts: ['a.b'],
              annotations: {
                'nginx.ingress.kubernetes.io/auth-url': 'https://x.example',
              },
            },
          },
        },
      },
      'authenticator.exposure.ingress.annotations["nginx.ingress.kubernetes.io/auth-url"]',
      /run configuration or change authentication/,
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

  describe('platform policy', () => {
    const ingress = (extra: Record<string, unknown>) => ({
      dex: {
        exposure: { ingress: { enabled: true, hosts: ['a.b'], ...extra } },
      },
    });
    const policy = (extra: Partial<PlatformPolicy>): PlatformPolicy => ({
      ...DEFAULT_POLICY,
      ...extra,
    });

    it('allows namespaces matching its patterns, and no others', () => {
      const p = policy({ namespaces: ['team-*', 'identity'] });
      expect(problems({ namespace: 'team-a' }, p)).toEqual([]);
      expect(problems({ namespace: 'identity' }, p)).toEqual([]);
      expect(problems({ namespace: 'prod' }, p)).toEqual([
        {
          field: 'namespace',
          message:
            'namespace "prod" is not allowed by the platform on cluster "prod": choose one matching "team-*", "identity" (dex.policy.namespaces (or dex.clusters.prod.policy.namespaces))',
        },
      ]);
    });

    it('opens a reserved namespace only when listed exactly, never by a pattern', () => {
      expect(
        problems({ namespace: 'kube-system' }, policy({ namespaces: ['*'] })),
      ).toEqual([
        expect.objectContaining({
          field: 'namespace',
          message: expect.stringContaining("cluster's own namespaces"),
        }),
      ]);
      expect(
        problems(
          { namespace: 'kube-system' },
          policy({ namespaces: ['kube-system'] }),
        ),
      ).toEqual([]);
    });

    it('allows only the listed Ingress classes (and asks for one when none is named)', () => {
      const p = policy({ ingressClasses: ['nginx-internal'] });
      expect(problems(ingress({ className: 'nginx-internal' }), p)).toEqual([]);
      expect(problems(ingress({ className: 'nginx-public' }), p)).toEqual([
        {
          field: 'dex.exposure.ingress.className',
          message:
            'Ingress class "nginx-public" is not allowed by the platform: use one of nginx-internal (dex.policy.ingressClasses (or dex.clusters.prod.policy.ingressClasses))',
        },
      ]);
      expect(problems(ingress({}), p)).toEqual([
        expect.objectContaining({
          field: 'dex.exposure.ingress.className',
          message: expect.stringMatching(/^name an Ingress class: one of/),
        }),
      ]);
      // The platform's default class counts as named.
      expect(
        problems(ingress({}), { ...p, ingressClassName: 'nginx-internal' }),
      ).toEqual([]);
    });

    it('allows annotation keys matching its patterns; risky keys only when listed exactly', () => {
      const snippet = 'nginx.ingress.kubernetes.io/configuration-snippet';
      const wildcard = policy({
        ingressAnnotations: [
          'cert-manager.io/*',
          'nginx.ingress.kubernetes.io/*',
        ],
      });
      expect(
        problems(
          ingress({
            annotations: {
              'cert-manager.io/cluster-issuer': 'letsencrypt',
              'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS',
            },
          }),
          wildcard,
        ),
      ).toEqual([]);
      expect(
        problems(ingress({ annotations: { 'example.com/x': 'y' } }), wildcard),
      ).toEqual([
        expect.objectContaining({
          field: 'dex.exposure.ingress.annotations["example.com/x"]',
          message: expect.stringMatching(
            /annotation "example\.com\/x" is not allowed by the platform: remove it, or use one matching "cert-manager\.io\/\*"/,
          ),
        }),
      ]);
      // A wildcard does not open a snippet; listing it exactly does.
      expect(
        problems(ingress({ annotations: { [snippet]: 'x' } }), wildcard),
      ).toEqual([
        expect.objectContaining({
          message: expect.stringContaining('run configuration'),
        }),
      ]);
      expect(
        problems(
          ingress({ annotations: { [snippet]: 'x' } }),
          policy({ ingressAnnotations: [snippet] }),
        ),
      ).toEqual([]);
    });

    it('allows empty claim prefixes only when the platform does; system: never', () => {
      const p = policy({ allowEmptyClaimPrefixes: true });
      expect(
        problems({ claims: { usernamePrefix: '', groupsPrefix: '' } }, p),
      ).toEqual([]);
      expect(problems({ claims: { groupsPrefix: 'system:' } }, p)).toEqual([
        expect.objectContaining({ field: 'claims.groupsPrefix' }),
      ]);
    });

    it('takes the image registry from the policy only', () => {
      const { spec } = resolveSpec(
        valid,
        policy({ imageRegistry: 'registry.example.com/mirror' }),
      );
      expect(spec.imageRegistry).toBe('registry.example.com/mirror');
    });
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
