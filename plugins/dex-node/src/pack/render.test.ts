import YAML from 'yaml';
import {
  DEFAULT_POLICY,
  LABEL_KUBERNETES_ID,
  withDefaults,
} from '@backstage-dex/plugin-dex-common';
import { prepareMaterial } from './material';
import { render, toYaml } from './render';
import { certificateInfo } from './certificates';

const spec = withDefaults({
  cluster: 'prod',
  namespace: 'identity',
  instance: 'corp',
  kubernetesId: 'payments-api',
  dex: {
    version: '2.45.1',
    exposure: {
      serviceType: 'LoadBalancer',
      extraNames: ['10.0.0.7'],
      ingress: {
        enabled: true,
        className: 'nginx',
        hosts: ['dex.example.com'],
        path: '/',
        annotations: { 'a.example/x': 'y' },
      },
    },
  },
  authenticator: {
    exposure: {
      serviceType: 'ClusterIP',
      ingress: { enabled: true, hosts: ['login.example.com'] },
    },
  },
  connectors: [
    {
      type: 'github',
      id: 'github',
      name: 'GitHub',
      clientId: 'gh-app',
      clientSecretRef: { name: 'github', key: 'secret' },
    },
  ],
  staticUsers: [
    {
      email: 'admin@example.com',
      username: 'admin',
      passwordRef: { name: 'users', key: 'admin' },
    },
  ],
});
const { material } = prepareMaterial(spec, {
  referenced: { 'users/admin': 'correct horse' },
});
const objects = render(spec, material);
const byKind = (kind: string, name: string) =>
  objects.find(o => o.kind === kind && o.metadata.name === name)!;
const secretText = (kind: string, name: string, key: string) =>
  Buffer.from((byKind(kind, name) as any).data[key], 'base64').toString('utf8');

describe('render', () => {
  it("mounts an LDAP connector's root CA from its Secret and points the connector at it; SAML's CA goes in as caData; no secret is inlined", () => {
    const withLdap = withDefaults({
      ...spec,
      connectors: [
        {
          type: 'saml',
          ssoURL: 'https://idp.example.com/sso',
          caPem:
            '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
          usernameAttr: 'name',
          emailAttr: 'email',
        },
        {
          type: 'ldap',
          host: 'ldap.example.com:389',
          startTLS: true,
          rootCARef: { name: 'ldap-ca', key: 'root.pem' },
          bindDN: 'cn=dex',
          bindPasswordRef: { name: 'ldap', key: 'password' },
          userBaseDN: 'ou=people',
        },
      ],
    });
    const rendered = render(withLdap, material);
    const config = YAML.parse(
      Buffer.from(
        (rendered.find(o => o.metadata.name === 'corp-config') as any).data[
          'config.yaml'
        ],
        'base64',
      ).toString('utf8'),
    );
    const [saml, ldap] = config.connectors;
    expect(Buffer.from(saml.config.caData, 'base64').toString('utf8')).toMatch(
      /^-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----$/,
    );
    expect(ldap.config).toMatchObject({
      host: 'ldap.example.com:389',
      startTLS: true,
      rootCA: '/etc/dex/connectors/1/ca.crt',
      bindPW: '$DEX_CONNECTOR_LDAP_SECRET',
    });
    const pod = (
      rendered.find(
        o => o.kind === 'Deployment' && o.metadata.name === 'corp',
      ) as any
    ).spec.template.spec;
    expect(pod.volumes).toContainEqual({
      name: 'connector-ca-1',
      secret: {
        secretName: 'ldap-ca',
        items: [{ key: 'root.pem', path: 'ca.crt' }],
      },
    });
    expect(pod.containers[0].volumeMounts).toContainEqual({
      name: 'connector-ca-1',
      mountPath: '/etc/dex/connectors/1',
      readOnly: true,
    });
    // SAML has no secret; LDAP's bind password comes from its Secret by env.
    expect(
      pod.containers[0].env.filter((e: any) =>
        e.name.startsWith('DEX_CONNECTOR_'),
      ),
    ).toEqual([
      {
        name: 'DEX_CONNECTOR_LDAP_SECRET',
        valueFrom: { secretKeyRef: { name: 'ldap', key: 'password' } },
      },
    ]);
  });

  it('is deterministic: same spec and material, same bytes', () => {
    expect(toYaml(render(spec, material))).toBe(toYaml(objects));
  });

  it('labels every object as DESIGN.md requires', () => {
    for (const o of objects.filter(
      x => x.kind !== 'CustomResourceDefinition',
    )) {
      expect(o.metadata.labels).toMatchObject({
        'app.kubernetes.io/managed-by': 'backstage-dex',
        'app.kubernetes.io/part-of': 'dex-pack',
        'app.kubernetes.io/instance': 'corp',
        [LABEL_KUBERNETES_ID]: 'payments-api',
      });
      expect(o.metadata.labels!['app.kubernetes.io/version']).toMatch(
        /^\d+\.\d+\.\d+$/,
      );
    }
  });

  it("installs Dex's storage CRDs as objects shared by every installation, and gives Dex only a namespaced Role", () => {
    const crds = objects.filter(o => o.kind === 'CustomResourceDefinition');
    expect(crds.map(o => o.metadata.name)).toEqual(
      expect.arrayContaining([
        'authcodes.dex.coreos.com',
        'authrequests.dex.coreos.com',
        'signingkeies.dex.coreos.com',
        'connectors.dex.coreos.com',
      ]),
    );
    expect(crds).toHaveLength(10);
    for (const crd of crds) {
      // Nothing of one installation on them: another installation's run finds them unchanged.
      expect(crd.metadata.labels).toEqual({
        'app.kubernetes.io/managed-by': 'backstage-dex',
        'app.kubernetes.io/part-of': 'dex-pack',
        'app.kubernetes.io/name': 'dex',
      });
      expect(crd.spec).toMatchObject({
        group: 'dex.coreos.com',
        scope: 'Namespaced',
        versions: [{ name: 'v1', served: true, storage: true }],
      });
    }
    // The only cluster-scoped objects: the Namespace and the shared CRDs.
    expect(
      objects
        .filter(o => !o.metadata.namespace)
        .map(o => o.kind)
        .filter((k, i, a) => a.indexOf(k) === i),
    ).toEqual(['Namespace', 'CustomResourceDefinition']);
    const role = byKind('Role', 'corp') as any;
    expect(role.rules).toEqual([
      {
        apiGroups: ['dex.coreos.com'],
        resources: crds.map(o => (o.spec as any).names.plural),
        verbs: ['get', 'list', 'create', 'update', 'delete'],
      },
    ]);
    // Dex 2.45 is told the CRDs are there, not to create them.
    expect(
      YAML.parse(secretText('Secret', 'corp-config', 'config.yaml')).storage,
    ).toEqual({
      type: 'kubernetes',
      config: { inCluster: true, crdHandling: 'check' },
    });
    const memory = render(
      { ...spec, dex: { ...spec.dex, storage: 'memory' } },
      material,
    );
    expect(memory.map(o => o.kind)).not.toContain('CustomResourceDefinition');
    expect(memory.map(o => o.kind)).not.toContain('Role');
  });

  it('cross-configures Dex and the authenticator: issuer, client, secret, redirect URI, CA', () => {
    const dex = YAML.parse(secretText('Secret', 'corp-config', 'config.yaml'));
    const auth = YAML.parse(
      (byKind('ConfigMap', 'corp-authenticator') as any).data['config.yaml'],
    );
    expect(dex.issuer).toBe('https://dex.example.com');
    expect(auth.clusters[0]).toMatchObject({
      issuer: dex.issuer,
      client_id: 'kubernetes',
      client_secret: '${DEX_CLIENT_SECRET}',
      redirect_uri: 'https://login.example.com/callback/prod',
    });
    const client = dex.staticClients.find((c: any) => c.id === 'kubernetes');
    expect(client.redirectURIs).toEqual([
      'https://login.example.com/callback/prod',
    ]);
    expect(client.secret).toBe(material.clientSecrets.kubernetes);
    const deployment = byKind('Deployment', 'corp-authenticator') as any;
    const pod = deployment.spec.template.spec;
    expect(pod.containers[0].env).toContainEqual({
      name: 'DEX_CLIENT_SECRET',
      valueFrom: { secretKeyRef: { name: 'corp-clients', key: 'kubernetes' } },
    });
    expect(pod.volumes).toContainEqual({
      name: 'dex-ca',
      secret: {
        secretName: 'corp-tls',
        items: [{ key: 'ca.crt', path: 'ca.crt' }],
      },
    });
    // The authenticator trusts Dex's CA for its own calls, and hands the same CA out in kubeconfigs.
    expect(auth.trusted_root_ca_file).toBe('/app/dex-ca/ca.crt');
    expect(auth.idp_ca_pem_file).toBe('/app/dex-ca/ca.crt');
  });

  it("gives kubectl a public client whose tokens may carry the pack client's audience", () => {
    const dex = YAML.parse(secretText('Secret', 'corp-config', 'config.yaml'));
    const kubectl = dex.staticClients.find((c: any) => c.id === 'kubectl');
    expect(kubectl).toEqual({
      id: 'kubectl',
      name: 'kubectl (kubelogin)',
      public: true,
    });
    const client = dex.staticClients.find((c: any) => c.id === 'kubernetes');
    expect(client.trustedPeers).toEqual(['kubectl']);
    const settings = (byKind('ConfigMap', 'corp-apiserver-settings') as any)
      .data;
    expect(settings['kubectl-client-id']).toBe('kubectl');
  });

  it("records the spec in the settings ConfigMap, without a static user's password hash", () => {
    const hash = `$2a$10$${'x'.repeat(53)}`;
    const withHash = withDefaults({
      cluster: 'prod',
      namespace: 'identity',
      staticUsers: [{ email: 'a@example.com', username: 'a', hash }],
    });
    const { material: m } = prepareMaterial(withHash, {});
    const settings = render(withHash, m).find(
      o => o.metadata.name === 'dex-apiserver-settings',
    ) as any;
    expect(settings.data['spec.json']).not.toContain(hash);
    const recorded = JSON.parse(settings.data['spec.json']);
    expect(recorded.staticUsers).toEqual([
      { email: 'a@example.com', username: 'a' },
    ]);
    expect(recorded.namespace).toBe('identity');
    expect(recorded.staticClients).toBeUndefined();
    expect(
      JSON.parse(
        (byKind('ConfigMap', 'corp-apiserver-settings') as any).data[
          'spec.json'
        ],
      ).connectors[0],
    ).toEqual(spec.connectors[0]);
  });

  it('keeps secrets out of ConfigMaps and references connector secrets instead of inlining them', () => {
    const configMaps = objects
      .filter(o => o.kind === 'ConfigMap')
      .map(o => JSON.stringify(o));
    for (const text of configMaps) {
      expect(text).not.toContain(material.clientSecrets.kubernetes);
      expect(text).not.toContain('PRIVATE KEY');
      expect(text).not.toContain(material.passwordHashes['admin@example.com']);
    }
    const dex = YAML.parse(secretText('Secret', 'corp-config', 'config.yaml'));
    expect(dex.connectors[0].config.clientSecret).toBe(
      '$DEX_CONNECTOR_GITHUB_SECRET',
    );
    const env = (byKind('Deployment', 'corp') as any).spec.template.spec
      .containers[0].env;
    expect(env).toContainEqual({
      name: 'DEX_CONNECTOR_GITHUB_SECRET',
      valueFrom: { secretKeyRef: { name: 'github', key: 'secret' } },
    });
    expect(dex.staticPasswords[0].hash).toMatch(/^\$2[ab]\$10\$/);
  });

  it('issues a serving certificate that covers every name clients use', () => {
    const info = certificateInfo(material.dexTls.certPem);
    expect(info.dnsNames).toEqual(
      expect.arrayContaining([
        'dex.example.com',
        'corp.identity.svc',
        'corp.identity.svc.cluster.local',
      ]),
    );
    expect(info.ipAddresses).toContain('10.0.0.7');
    expect(
      certificateInfo(material.authenticatorTls!.certPem).dnsNames,
    ).toContain('login.example.com');
  });

  it('exposes Dex through the Service type and Ingress asked for', () => {
    expect((byKind('Service', 'corp') as any).spec.type).toBe('LoadBalancer');
    const ingress = byKind('Ingress', 'corp') as any;
    expect(ingress.spec.ingressClassName).toBe('nginx');
    expect(ingress.metadata.annotations).toEqual({
      'a.example/x': 'y',
      'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS',
    });
    expect(ingress.spec.tls).toEqual([
      { hosts: ['dex.example.com'], secretName: 'corp-tls' },
    ]);
  });

  it('uses the health endpoints and image each version has', () => {
    const old = withDefaults({
      ...spec,
      dex: { ...spec.dex, version: '2.25.0', storage: 'memory' },
    });
    const oldDex = (
      render(old, material).find(
        o => o.kind === 'Deployment' && o.metadata.name === 'corp',
      ) as any
    ).spec.template.spec.containers[0];
    expect(oldDex.image).toBe('quay.io/dexidp/dex:v2.25.0');
    expect(oldDex.readinessProbe.httpGet).toEqual({
      path: '/healthz',
      port: 'https',
      scheme: 'HTTPS',
    });
    const newDex = (byKind('Deployment', 'corp') as any).spec.template.spec
      .containers[0];
    expect(newDex.image).toBe('ghcr.io/dexidp/dex:v2.45.1');
    expect(newDex.readinessProbe.httpGet).toEqual({
      path: '/healthz/ready',
      port: 'telemetry',
      scheme: 'HTTP',
    });
  });

  it("starts each Dex image the way its Dockerfile's entrypoint expects", () => {
    const dexContainer = (version: string, issuerUrl?: string) => {
      const s = withDefaults({
        ...spec,
        dex: { ...spec.dex, version, storage: 'memory', issuerUrl },
      });
      const deployment = render(s, material).find(
        o => o.kind === 'Deployment' && o.metadata.name === 'corp',
      ) as any;
      return {
        pod: deployment.spec.template.spec,
        container: deployment.spec.template.spec.containers[0],
      };
    };
    // Before 2.28 the ENTRYPOINT is dex itself: the args start at its subcommand.
    const old = dexContainer('2.25.0', 'https://dex.example.com/dex');
    expect(old.container.args).toEqual(['serve', '/etc/dex/cfg/config.yaml']);
    expect(
      old.container.volumeMounts.map((m: any) => m.mountPath),
    ).not.toContain('/tmp');
    // ... and its health endpoint lives under the issuer's path, like every endpoint.
    expect(old.container.readinessProbe.httpGet.path).toBe('/dex/healthz');
    // From 2.28 docker-entrypoint runs the args as a command, writing the templated config to /tmp.
    const current = dexContainer('2.45.1');
    expect(current.container.args).toEqual([
      'dex',
      'serve',
      '/etc/dex/cfg/config.yaml',
    ]);
    expect(current.container.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(current.container.volumeMounts).toContainEqual({
      name: 'tmp',
      mountPath: '/tmp',
    });
    expect(current.pod.volumes).toContainEqual({
      name: 'tmp',
      emptyDir: { medium: 'Memory', sizeLimit: '1Mi' },
    });
  });

  it("escapes template delimiters in Dex's config where the image runs it through gomplate", () => {
    const name = 'Reports {{ file.Read "/etc/dex/tls/tls.key" }}';
    const configFor = (version: string) => {
      const s = withDefaults({
        ...spec,
        dex: { ...spec.dex, version, storage: 'memory' },
        staticClients: [
          { id: 'reports', name, redirectURIs: ['https://r.example.com/cb'] },
        ],
      });
      return Buffer.from(
        (
          render(s, material).find(
            o => o.metadata.name === 'corp-config',
          ) as any
        ).data['config.yaml'],
        'base64',
      ).toString();
    };
    // gomplate prints {{"{{"}} as {{ (and {{"}}"}} as }}): Dex reads the name as written, nothing runs.
    expect(configFor('2.45.1')).toContain(
      'Reports {{"{{"}} file.Read "/etc/dex/tls/tls.key" {{"}}"}}',
    );
    // Dex before 2.28 reads the file itself.
    expect(YAML.parse(configFor('2.25.0')).staticClients[1].name).toBe(name);
  });

  it('probes Dex and the authenticator every second while they start, where the cluster serves startupProbe', () => {
    const containers = (kubernetesVersion?: string, version = '2.45.1') => {
      const s = withDefaults({
        ...spec,
        kubernetesVersion,
        dex: { ...spec.dex, version, storage: 'memory' },
      });
      const deployments = render(s, material).filter(
        o => o.kind === 'Deployment',
      ) as any[];
      const of = (name: string) =>
        deployments.find(d => d.metadata.name === name).spec.template.spec
          .containers[0];
      return { dex: of('corp'), authenticator: of('corp-authenticator') };
    };
    const current = containers();
    expect(current.dex.startupProbe).toEqual({
      httpGet: { path: '/healthz/ready', port: 'telemetry', scheme: 'HTTP' },
      periodSeconds: 1,
      failureThreshold: 120,
    });
    // The steady state keeps its slower probes.
    expect(current.dex.readinessProbe.periodSeconds).toBe(10);
    expect(current.dex.livenessProbe.periodSeconds).toBe(20);
    expect(current.authenticator.startupProbe).toEqual({
      httpGet: { path: '/healthz', port: 'https', scheme: 'HTTPS' },
      periodSeconds: 1,
      failureThreshold: 120,
    });
    expect(current.authenticator.readinessProbe.periodSeconds).toBe(10);
    // Before the telemetry port: the health endpoint the readiness probe uses.
    expect(containers('v1.35.4', '2.25.0').dex.startupProbe.httpGet).toEqual({
      path: '/healthz',
      port: 'https',
      scheme: 'HTTPS',
    });
    // Beta and on by default from 1.18: before it the apiserver would drop the field.
    expect(containers('v1.18.0').dex.startupProbe).toBeDefined();
    const old = containers('v1.17.17', '2.25.0');
    expect(old.dex.startupProbe).toBeUndefined();
    expect(old.authenticator.startupProbe).toBeUndefined();
    expect(old.dex.readinessProbe).toBeDefined();
  });

  it('probes the authenticator under its web path prefix (outside it, it answers 404)', () => {
    const probePath = (url?: string) => {
      const s = withDefaults({
        ...spec,
        authenticator: { ...spec.authenticator, url },
      });
      const auth = render(s, material).find(
        o =>
          o.kind === 'Deployment' && o.metadata.name === 'corp-authenticator',
      ) as any;
      return auth.spec.template.spec.containers[0].readinessProbe.httpGet.path;
    };
    expect(probePath()).toBe('/healthz');
    expect(probePath('https://login.example.com/kubernetes/login')).toBe(
      '/kubernetes/login/healthz',
    );
  });

  it('rewrites image registries when the platform mirrors them', () => {
    const mirrored = withDefaults(spec, {
      ...DEFAULT_POLICY,
      imageRegistry: 'registry.corp/mirror',
    });
    const images = render(mirrored, material)
      .filter(o => o.kind === 'Deployment')
      .map(o => (o as any).spec.template.spec.containers[0].image);
    expect(images).toEqual([
      'registry.corp/mirror/dexidp/dex:v2.45.1',
      'registry.corp/mirror/mintel/dex-k8s-authenticator:1.4.0',
    ]);
  });
});
