import crypto from 'node:crypto';
import YAML from 'yaml';
import {
  ExposureSpec,
  KUBECTL_CLIENT_ID,
  PackSpec,
  ResourcesSpec,
  findAuthenticatorRelease,
  findDexRelease,
  kubernetesServesStartupProbe,
} from '@backstage-dex/plugin-dex-common';
import {
  AUTHENTICATOR_PATHS,
  AUTHENTICATOR_SECRET_ENV,
  authenticatorConfig,
  authenticatorWebPathPrefix,
} from './authenticatorConfig';
import { apiServerSettings } from './apiServer';
import { configYamlOf } from './yamlText';
import {
  DEX_STORAGE_GROUP,
  DEX_STORAGE_VERBS,
  dexCrds,
  dexStorageResources,
} from './crds';
import {
  DEX_PATHS,
  connectorCaVolumes,
  dexConfig,
  dexSecretEnv,
} from './dexConfig';
import { PackMaterial } from './material';
import {
  AUTHENTICATOR_PORT,
  Component,
  DEX_HTTPS_PORT,
  DEX_TELEMETRY_PORT,
  LoadBalancerComponent,
  issuerUrl,
  labels,
  objectNames,
  selector,
} from './names';
import { certificatesConfigMap } from './publishedCertificates';

/** A Kubernetes object as rendered: plain data, ready for server-side apply. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

function meta(
  spec: PackSpec,
  name: string,
  component: Component,
  namespaced = true,
) {
  return {
    name,
    ...(namespaced ? { namespace: spec.namespace } : {}),
    labels: labels(spec, component),
  };
}

function image(spec: PackSpec, ref: string): string {
  if (!spec.imageRegistry) return ref;
  // Replace the registry host (first path element when it looks like a host) with the override.
  const parts = ref.split('/');
  const hasHost = parts.length > 1 && /[.:]/.test(parts[0]);
  return `${spec.imageRegistry}/${(hasHost ? parts.slice(1) : parts).join('/')}`;
}

const restricted = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

function resources(r: ResourcesSpec | undefined) {
  return (
    r ?? {
      requests: { cpu: '50m', memory: '64Mi' },
      limits: { memory: '256Mi' },
    }
  );
}

function service(
  spec: PackSpec,
  name: string,
  component: 'dex' | 'authenticator',
  exposure: ExposureSpec,
  port: number,
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(spec, name, component),
    spec: {
      type: exposure.serviceType,
      selector: selector(spec, component),
      ports: [{ name: 'https', port, targetPort: 'https', protocol: 'TCP' }],
    },
  };
}

function ingress(
  spec: PackSpec,
  name: string,
  component: 'dex' | 'authenticator',
  exposure: ExposureSpec,
  port: number,
  defaultTlsSecret: string,
): KubeObject[] {
  const ing = exposure.ingress;
  if (!ing?.enabled) return [];
  const annotations = { ...(ing.annotations ?? {}) };
  // The backends serve TLS themselves; tell ingress-nginx so (other controllers: set your own).
  if (
    ing.className === 'nginx' &&
    !annotations['nginx.ingress.kubernetes.io/backend-protocol']
  ) {
    annotations['nginx.ingress.kubernetes.io/backend-protocol'] = 'HTTPS';
  }
  return [
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        ...meta(spec, name, component),
        ...(Object.keys(annotations).length ? { annotations } : {}),
      },
      spec: {
        ...(ing.className ? { ingressClassName: ing.className } : {}),
        tls: [
          {
            hosts: ing.hosts,
            secretName: ing.tlsSecretName ?? defaultTlsSecret,
          },
        ],
        rules: ing.hosts.map(host => ({
          host,
          http: {
            paths: [
              {
                path: ing.path ?? '/',
                pathType: 'Prefix',
                backend: { service: { name, port: { number: port } } },
              },
            ],
          },
        })),
      },
    },
  ];
}

function tlsSecret(
  spec: PackSpec,
  name: string,
  component: Component,
  pair: { certPem: string; keyPem: string },
  caPem: string,
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta(spec, name, component),
    type: 'kubernetes.io/tls',
    data: {
      'tls.crt': b64(pair.certPem),
      'tls.key': b64(pair.keyPem),
      'ca.crt': b64(caPem),
    },
  };
}

function checksum(value: string) {
  return crypto.createHash('sha256').update(value).digest('hex');
}

/** The secret inputs as one string for a checksum ('' without any, so packs without them keep theirs). */
function secretInputsDigest(material: PackMaterial): string {
  const inputs = material.secretInputs ?? {};
  const keys = Object.keys(inputs).sort();
  return keys.length
    ? checksum(JSON.stringify(keys.map(k => [k, inputs[k]])))
    : '';
}

/** The installation's Secret of the values given to the action as secret inputs, when there are any. */
function secretInputsSecret(
  spec: PackSpec,
  material: PackMaterial,
): KubeObject[] {
  const inputs = material.secretInputs ?? {};
  const keys = Object.keys(inputs).sort();
  if (!keys.length) return [];
  return [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta(spec, objectNames(spec).secretInputs, 'shared'),
      type: 'Opaque',
      data: Object.fromEntries(keys.map(k => [k, b64(inputs[k])])),
    },
  ];
}

function dexObjects(spec: PackSpec, material: PackMaterial): KubeObject[] {
  const n = objectNames(spec);
  const release = findDexRelease(spec.dex.version)!;
  // From 2.28 the image's entrypoint runs the config through gomplate (Go templates) before Dex
  // reads it: escape the delimiters, so every value reaches Dex as written and none runs as a template.
  const plainYaml = configYamlOf(dexConfig(spec, material));
  const configYaml =
    release.imageEntrypoint === 'templating-entrypoint'
      ? plainYaml.replace(/\{\{|\}\}/g, d => `{{"${d}"}}`)
      : plainYaml;
  const objects: KubeObject[] = [
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: meta(spec, n.serviceAccount, 'dex'),
      automountServiceAccountToken: spec.dex.storage === 'kubernetes',
    },
  ];
  if (spec.dex.storage === 'kubernetes') {
    // Least privilege for Dex's kubernetes storage: the verbs it uses on its own resources, in
    // its own namespace. Nothing cluster-wide: the pack installs the CRDs (see render()).
    objects.push(
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: meta(spec, n.role, 'dex'),
        rules: [
          {
            apiGroups: [DEX_STORAGE_GROUP],
            resources: dexStorageResources(),
            verbs: DEX_STORAGE_VERBS,
          },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: meta(spec, n.role, 'dex'),
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'Role',
          name: n.role,
        },
        subjects: [
          {
            kind: 'ServiceAccount',
            name: n.serviceAccount,
            namespace: spec.namespace,
          },
        ],
      },
    );
  }
  objects.push({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta(spec, n.configSecret, 'dex'),
    type: 'Opaque',
    data: {
      'config.yaml': b64(configYaml),
      'password-hashes.json': b64(JSON.stringify(material.passwordHashes)),
    },
  });
  // Before the telemetry port, /healthz is served under the issuer's path, like every Dex endpoint.
  const issuerPath = new URL(issuerUrl(spec)).pathname.replace(/\/$/, '');
  const probe = release.telemetryHealth
    ? (path: string) => ({
        httpGet: { path, port: 'telemetry', scheme: 'HTTP' },
      })
    : () => ({
        httpGet: {
          path: `${issuerPath}/healthz`,
          port: 'https',
          scheme: 'HTTPS',
        },
      });
  // The image's entrypoint from 2.28 runs the args as a command and writes the templated config
  // to /tmp first: the root filesystem is read-only, so /tmp is a small memory volume.
  const viaEntrypoint = release.imageEntrypoint === 'templating-entrypoint';
  const ports = [
    { name: 'https', containerPort: DEX_HTTPS_PORT, protocol: 'TCP' },
  ];
  if (release.telemetryHealth)
    ports.push({
      name: 'telemetry',
      containerPort: DEX_TELEMETRY_PORT,
      protocol: 'TCP',
    });
  objects.push({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(spec, n.dexDeployment, 'dex'),
    spec: {
      replicas: spec.dex.replicas,
      selector: { matchLabels: selector(spec, 'dex') },
      template: {
        metadata: {
          labels: labels(spec, 'dex'),
          // Roll the pods when the config or certificates change.
          annotations: {
            // Secret inputs reach Dex as env vars: a changed one rolls the pods too.
            'dex.backstage.io/config-checksum': checksum(
              configYaml +
                material.dexTls.certPem +
                secretInputsDigest(material),
            ),
          },
        },
        spec: {
          serviceAccountName: n.serviceAccount,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1001,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'dex',
              image: image(spec, release.image),
              args: [
                ...(viaEntrypoint ? ['dex'] : []),
                'serve',
                DEX_PATHS.config,
              ],
              ports,
              env: [
                // Dex < 2.30 reads its namespace from here (bound service-account tokens lack the old claim).
                {
                  name: 'KUBERNETES_POD_NAMESPACE',
                  valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } },
                },
                ...dexSecretEnv(spec),
              ],
              volumeMounts: [
                { name: 'config', mountPath: '/etc/dex/cfg', readOnly: true },
                { name: 'tls', mountPath: '/etc/dex/tls', readOnly: true },
                ...(viaEntrypoint ? [{ name: 'tmp', mountPath: '/tmp' }] : []),
                ...connectorCaVolumes(spec).map(v => v.mount),
              ],
              ...startupProbe(spec, probe('/healthz/ready')),
              readinessProbe: { ...probe('/healthz/ready'), periodSeconds: 10 },
              livenessProbe: { ...probe('/healthz/live'), periodSeconds: 20 },
              resources: resources(spec.dex.resources),
              securityContext: restricted,
            },
          ],
          volumes: [
            { name: 'config', secret: { secretName: n.configSecret } },
            { name: 'tls', secret: { secretName: n.tlsSecret } },
            ...(viaEntrypoint
              ? [
                  {
                    name: 'tmp',
                    emptyDir: { medium: 'Memory', sizeLimit: '1Mi' },
                  },
                ]
              : []),
            ...connectorCaVolumes(spec).map(v => v.volume),
          ],
        },
      },
    },
  });
  objects.push(
    service(spec, n.dexService, 'dex', spec.dex.exposure, DEX_HTTPS_PORT),
  );
  objects.push(
    ...ingress(
      spec,
      n.dexIngress,
      'dex',
      spec.dex.exposure,
      DEX_HTTPS_PORT,
      n.tlsSecret,
    ),
  );
  return objects;
}

/** How often a starting container is probed, and for how long at most (1 s × 120: two minutes). */
const STARTUP_PROBE = { periodSeconds: 1, failureThreshold: 120 };

/**
 * A startupProbe on the readiness endpoint: Ready within a second of serving, where the readiness
 * probe's 10 s period would leave up to 10 s unused; the readiness and liveness probes wait for it.
 * Not rendered where the target does not serve the field (before 1.18): the apiserver would drop it,
 * and every re-run would see a difference. Without a known version, a current one is assumed.
 */
function startupProbe(
  spec: PackSpec,
  probe: { httpGet: object },
): { startupProbe?: object } {
  if (
    spec.kubernetesVersion &&
    !kubernetesServesStartupProbe(spec.kubernetesVersion)
  )
    return {};
  return { startupProbe: { ...probe, ...STARTUP_PROBE } };
}

function authenticatorObjects(
  spec: PackSpec,
  material: PackMaterial,
): KubeObject[] {
  if (!spec.authenticator.enabled) return [];
  const n = objectNames(spec);
  const release = findAuthenticatorRelease(spec.authenticator.version)!;
  const configYaml = configYamlOf(authenticatorConfig(spec));
  const authenticatorProbe = {
    httpGet: {
      path: `${authenticatorWebPathPrefix(spec)}healthz`,
      port: 'https',
      scheme: 'HTTPS',
    },
  };
  return [
    tlsSecret(
      spec,
      n.authenticatorTlsSecret,
      'authenticator',
      material.authenticatorTls!,
      material.ca.certPem,
    ),
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta(spec, n.authenticatorConfigMap, 'authenticator'),
      data: { 'config.yaml': configYaml },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(spec, n.authenticator, 'authenticator'),
      spec: {
        replicas: spec.authenticator.replicas,
        selector: { matchLabels: selector(spec, 'authenticator') },
        template: {
          metadata: {
            labels: labels(spec, 'authenticator'),
            annotations: {
              'dex.backstage.io/config-checksum': checksum(
                configYaml + material.authenticatorTls!.certPem,
              ),
            },
          },
          spec: {
            automountServiceAccountToken: false,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 1001,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [
              {
                name: 'dex-k8s-authenticator',
                image: image(spec, release.image),
                args: ['--config', AUTHENTICATOR_PATHS.config],
                ports: [
                  {
                    name: 'https',
                    containerPort: AUTHENTICATOR_PORT,
                    protocol: 'TCP',
                  },
                ],
                env: [
                  {
                    name: AUTHENTICATOR_SECRET_ENV,
                    valueFrom: {
                      secretKeyRef: {
                        name: n.clientsSecret,
                        key: spec.clientId,
                      },
                    },
                  },
                ],
                volumeMounts: [
                  {
                    name: 'config',
                    mountPath: AUTHENTICATOR_PATHS.configDir,
                    readOnly: true,
                  },
                  { name: 'tls', mountPath: '/app/tls', readOnly: true },
                  { name: 'dex-ca', mountPath: '/app/dex-ca', readOnly: true },
                ],
                // Every path under the web prefix serves the page; outside it the authenticator answers 404.
                ...startupProbe(spec, authenticatorProbe),
                readinessProbe: { ...authenticatorProbe, periodSeconds: 10 },
                resources: resources(spec.authenticator.resources),
                securityContext: restricted,
              },
            ],
            volumes: [
              { name: 'config', configMap: { name: n.authenticatorConfigMap } },
              { name: 'tls', secret: { secretName: n.authenticatorTlsSecret } },
              // Trust Dex: its CA (ca.crt of Dex's TLS Secret), never the CA's key.
              {
                name: 'dex-ca',
                secret: {
                  secretName: n.tlsSecret,
                  items: [{ key: 'ca.crt', path: 'ca.crt' }],
                },
              },
            ],
          },
        },
      },
    },
    service(
      spec,
      n.authenticator,
      'authenticator',
      spec.authenticator.exposure,
      AUTHENTICATOR_PORT,
    ),
    ...ingress(
      spec,
      n.authenticator,
      'authenticator',
      spec.authenticator.exposure,
      AUTHENTICATOR_PORT,
      n.authenticatorTlsSecret,
    ),
  ];
}

/**
 * The spec as the settings ConfigMap records it, for the card's "Upgrade" (the template filled in
 * with what is installed). Secrets are only ever referenced in a spec; a static user's bcrypt hash
 * is the one inline value, and it is left out. Static clients are left out too: the template has
 * no field for them, and their redirect URIs could take the ConfigMap past 1 MiB.
 */
function recordedSpec(
  { staticClients: _staticClients, ...spec }: PackSpec,
  derivedUrls: LoadBalancerComponent[],
): Omit<PackSpec, 'staticClients'> {
  // URLs derived from a LoadBalancer's address are not what was asked for: an upgrade derives
  // them again (and follows the address if it moved).
  const { issuerUrl: _issuerUrl, ...dex } = spec.dex;
  const { url: _url, ...authenticator } = spec.authenticator;
  return {
    ...spec,
    dex: derivedUrls.includes('dex') ? dex : spec.dex,
    authenticator: derivedUrls.includes('authenticator')
      ? authenticator
      : spec.authenticator,
    staticUsers: spec.staticUsers.map(({ hash: _hash, ...user }) => user),
  };
}

/**
 * The pack's Kubernetes objects for a validated spec and its material. Pure and deterministic:
 * the same spec and material give the same objects, in the same order.
 */
export function render(
  spec: PackSpec,
  material: PackMaterial,
  options: {
    /** Components whose URL provision derived from their LoadBalancer's address. */
    derivedUrls?: LoadBalancerComponent[];
  } = {},
): KubeObject[] {
  const n = objectNames(spec);
  const settings = apiServerSettings(spec, material.ca.certPem);
  const clientData: Record<string, string> = {};
  for (const id of Object.keys(material.clientSecrets).sort())
    clientData[id] = b64(material.clientSecrets[id]);
  return [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: meta(spec, spec.namespace, 'shared', false),
    },
    // Dex's storage CRDs are installed by the pack (with the identity that applies it), so Dex's
    // ServiceAccount needs no cluster-scoped rights and its first start finds them served.
    ...(spec.dex.storage === 'kubernetes' ? dexCrds() : []),
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta(spec, n.caSecret, 'shared'),
      type: 'Opaque',
      data: {
        'tls.crt': b64(material.ca.certPem),
        'tls.key': b64(material.ca.keyPem),
      },
    },
    tlsSecret(spec, n.tlsSecret, 'dex', material.dexTls, material.ca.certPem),
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta(spec, n.clientsSecret, 'shared'),
      type: 'Opaque',
      data: clientData,
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta(spec, n.apiServerConfigMap, 'shared'),
      data: {
        'issuer-url': settings.issuerUrl,
        'client-id': settings.clientId,
        'kubectl-client-id': KUBECTL_CLIENT_ID,
        'oidc-flags': settings.flags.join('\n'),
        'authentication-configuration.yaml':
          settings.authenticationConfiguration,
        'ca.crt': material.ca.certPem,
        'spec.json': JSON.stringify(
          recordedSpec(spec, options.derivedUrls ?? []),
        ),
      },
    },
    certificatesConfigMap(spec, material),
    ...secretInputsSecret(spec, material),
    ...dexObjects(spec, material),
    ...authenticatorObjects(spec, material),
  ];
}

const PLACEHOLDER_PAIR = { certPem: '', keyPem: '' };
/** Skeletons by spec (as JSON: a spec holds references, never secret values) and option; a few in use at once. */
const skeletons = new Map<string, KubeObject[]>();
const MAX_SKELETONS = 32;

/**
 * The objects a spec produces, with placeholder material: enough to know their kinds and names.
 * `secretInputs`: with the installation's Secret of secret inputs, which is rendered only when a
 * run gives inputs or keeps stored ones. Made once per spec (a re-run renders it twice
 * otherwise): shared, so read it, never change it.
 */
export function renderSkeleton(
  spec: PackSpec,
  options: { secretInputs: boolean },
): KubeObject[] {
  const key = JSON.stringify([spec, options.secretInputs]);
  let skeleton = skeletons.get(key);
  if (!skeleton) {
    const placeholder: PackMaterial = {
      ca: PLACEHOLDER_PAIR,
      dexTls: PLACEHOLDER_PAIR,
      authenticatorTls: PLACEHOLDER_PAIR,
      clientSecrets: {},
      passwordHashes: {},
      secretInputs: options.secretInputs ? { placeholder: '' } : {},
    };
    skeleton = render(spec, placeholder);
    if (skeletons.size >= MAX_SKELETONS)
      skeletons.delete(skeletons.keys().next().value!);
    skeletons.set(key, skeleton);
  }
  return skeleton;
}

/** Multi-document YAML of objects, as `kubectl apply -f` reads it. */
export function toYaml(objects: KubeObject[]): string {
  return objects.map(o => YAML.stringify(o, { lineWidth: 0 })).join('---\n');
}
