/**
 * What a pod runs, resolved from rendered objects the way the kubelet resolves it: the container's
 * argv, working folder, user, environment and volumes. Pure (no processes, no files), so every
 * error a kubelet would report surfaces here before anything starts.
 */
import { ImageConfig } from './image';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** A file of a Secret, ConfigMap or projected volume. */
export interface VolumeFile {
  /** Relative path inside the volume. */
  path: string;
  content: Buffer;
  mode: number;
}

export type Mount =
  | {
      kind: 'files';
      volume: string;
      mountPath: string;
      subPath?: string;
      files: VolumeFile[];
      readOnly: true;
    }
  | {
      kind: 'emptyDir';
      volume: string;
      mountPath: string;
      subPath?: string;
      sizeBytes?: number;
      readOnly: boolean;
    };

export interface Probe {
  httpGet?: {
    path: string;
    port: number;
    scheme: 'HTTP' | 'HTTPS';
    headers: Record<string, string>;
  };
  tcpSocket?: { port: number };
  exec?: { command: string[] };
  /** The kubelet's timing fields, defaults filled in. */
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
}

export interface PodPlan {
  podName: string;
  namespace: string;
  container: string;
  argv: string[];
  workingDir: string;
  uid: number;
  gid: number;
  groups: number[];
  env: Array<[string, string]>;
  readOnlyRoot: boolean;
  noNewPrivs: boolean;
  dropAllCapabilities: boolean;
  mounts: Mount[];
  /** containerPort numbers by port name. */
  ports: Record<string, number>;
  /** Every containerPort (TCP) of the container. */
  containerPorts: number[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  terminationGraceSeconds: number;
}

export interface ApiServerAccess {
  port: number;
  caPem: string;
  token: string;
  host?: string;
}

type Json = Record<string, any>;

export const SERVICE_ACCOUNT_DIR =
  '/var/run/secrets/kubernetes.io/serviceaccount';
/** Kubernetes' rule for env names (and envFrom keys with their prefix). */
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** A path that may go into a mount: absolute (or relative for subPath), no `..`, no control characters. */
export function checkPath(p: string, what: string, relative = false): string {
  if (typeof p !== 'string' || !p) throw new Error(`${what} is empty`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(p))
    throw new Error(
      `${what} "${JSON.stringify(p)}" contains control characters`,
    );
  if (relative ? p.startsWith('/') : !p.startsWith('/')) {
    throw new Error(
      `${what} "${p}" must be ${relative ? 'relative' : 'absolute'}`,
    );
  }
  if (p.split('/').includes('..'))
    throw new Error(`${what} "${p}" must not contain ".."`);
  return p;
}

function find(
  objects: KubeObject[],
  kind: string,
  name: string,
  namespace: string,
): Json | undefined {
  return objects.find(
    o =>
      o.kind === kind &&
      o.metadata?.name === name &&
      (o.metadata.namespace ?? namespace) === namespace,
  ) as Json | undefined;
}

/** A Secret's or ConfigMap's data as bytes (Secret `data` is base64; `stringData` wins, as the apiserver merges it). */
function dataOf(obj: Json): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  const secret = obj.kind === 'Secret';
  for (const [k, v] of Object.entries<string>(obj.data ?? {}))
    out[k] = Buffer.from(v, secret ? 'base64' : 'utf8');
  for (const [k, v] of Object.entries<string>(obj.binaryData ?? {}))
    out[k] = Buffer.from(v, 'base64');
  for (const [k, v] of Object.entries<string>(obj.stringData ?? {}))
    out[k] = Buffer.from(v, 'utf8');
  return out;
}

/** Kubernetes `$(VAR)` expansion in env values, command and args (`$$` escapes; unknown stays as written). */
export function expand(value: string, env: Map<string, string>): string {
  return value.replace(
    /\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)/g,
    (m, name: string | undefined) =>
      name === undefined ? '$' : (env.get(name) ?? m),
  );
}

/** "1Mi", "64k", "1G" -> bytes. */
export function quantityBytes(q: string | number): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(q));
  if (!m) throw new Error(`cannot read the quantity "${q}"`);
  const mult: Record<string, number> = {
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return Math.ceil(Number(m[1]) * (m[2] ? mult[m[2]] : 1));
}

function portNumber(
  port: unknown,
  ports: Record<string, number>,
  where: string,
): number {
  if (typeof port === 'number') return port;
  if (typeof port === 'string' && /^\d+$/.test(port)) return Number(port);
  if (typeof port === 'string' && ports[port] !== undefined) return ports[port];
  throw new Error(
    `${where}: port ${JSON.stringify(port)} is not a number or a named containerPort (${Object.keys(ports).join(', ') || 'none'})`,
  );
}

function probeOf(
  p: Json | undefined,
  ports: Record<string, number>,
  where: string,
): Probe | undefined {
  if (!p) return undefined;
  const timing = {
    initialDelaySeconds: p.initialDelaySeconds ?? 0,
    periodSeconds: p.periodSeconds ?? 10,
    timeoutSeconds: p.timeoutSeconds ?? 1,
    successThreshold: p.successThreshold ?? 1,
    failureThreshold: p.failureThreshold ?? 3,
  };
  if (p.httpGet) {
    const scheme = (p.httpGet.scheme ?? 'HTTP').toUpperCase();
    if (scheme !== 'HTTP' && scheme !== 'HTTPS')
      throw new Error(
        `${where}: httpGet scheme "${scheme}" is not HTTP or HTTPS`,
      );
    const headers = Object.fromEntries(
      (p.httpGet.httpHeaders ?? []).map((h: Json) => [h.name, h.value]),
    );
    return {
      ...timing,
      httpGet: {
        path: p.httpGet.path ?? '/',
        port: portNumber(p.httpGet.port, ports, where),
        scheme,
        headers,
      },
    };
  }
  if (p.tcpSocket)
    return {
      ...timing,
      tcpSocket: { port: portNumber(p.tcpSocket.port, ports, where) },
    };
  if (p.exec) return { ...timing, exec: { command: p.exec.command ?? [] } };
  throw new Error(
    `${where}: only httpGet, tcpSocket and exec probes are run here`,
  );
}

/** A Pod as runPod runs it: its metadata and spec (a Pod object, or a Deployment's template named like a replica). */
export interface PodSource {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: Json;
}

/** One replica of Deployment `name` among `objects`, as a Pod named `<name>-local`. */
export function podOfDeployment(
  objects: KubeObject[],
  name: string,
): PodSource {
  const deployments = objects.filter(
    o => o.kind === 'Deployment' && o.metadata?.name === name,
  );
  if (deployments.length !== 1) {
    const names = objects
      .filter(o => o.kind === 'Deployment')
      .map(o => o.metadata.name);
    throw new Error(
      `runPod: ${deployments.length ? 'more than one' : 'no'} Deployment "${name}" among the objects (Deployments: ${names.join(', ') || 'none'})`,
    );
  }
  // The name becomes the hostname, a folder name and /etc/hosts: a DNS label, as Kubernetes requires.
  if (!/^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$/.test(name)) {
    throw new Error(
      `runPod: Deployment name "${name}" is not a DNS label of at most 52 characters`,
    );
  }
  const deployment = deployments[0] as Json;
  const template: Json = deployment.spec?.template ?? {};
  return {
    metadata: {
      ...template.metadata,
      name: `${name}-local`,
      namespace: deployment.metadata.namespace ?? 'default',
    },
    spec: template.spec ?? {},
  };
}

/** Where a pod runs: its IP (a loopback address of the host, or 127.0.0.1) and node. */
export interface PodPlacement {
  podIP: string;
  nodeName: string;
}

/** Resolves `pod` from `objects` (its Secrets, ConfigMaps, ServiceAccount) to what its container runs. */
export function planPod(options: {
  objects: KubeObject[];
  pod: PodSource;
  container?: string;
  image: (image: string) => ImageConfig;
  apiServer?: ApiServerAccess;
  env?: Record<string, string>;
  placement?: PodPlacement;
}): { plan: PodPlan; image: ImageConfig } {
  const { objects } = options;
  const namespace: string = options.pod.metadata.namespace ?? 'default';
  const template = options.pod;
  const pod: Json = options.pod.spec ?? {};
  const containers: Json[] = pod.containers ?? [];
  const c = options.container
    ? containers.find(x => x.name === options.container)
    : containers[0];
  if (!c) {
    throw new Error(
      `runPod: pod ${namespace}/${options.pod.metadata.name} has no container ${options.container ? `"${options.container}"` : ''} (containers: ${containers.map(x => x.name).join(', ') || 'none'})`,
    );
  }
  const podName = options.pod.metadata.name;
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(podName)) {
    throw new Error(`runPod: pod name "${podName}" is not a DNS subdomain`);
  }
  const placement = options.placement ?? {
    podIP: '127.0.0.1',
    nodeName: 'localhost',
  };
  const where = `pod ${namespace}/${podName} container ${c.name}`;
  const image = options.image(c.image);

  // Environment: the image's, then the kubelet's service variables, then the container's (which win).
  const env = new Map<string, string>(Object.entries(image.env));
  env.set('HOSTNAME', podName);
  for (const [k, v] of Object.entries(options.env ?? {})) env.set(k, v);
  if (options.apiServer) {
    env.set(
      'KUBERNETES_SERVICE_HOST',
      options.apiServer.host ?? '::ffff:127.0.0.1',
    );
    env.set('KUBERNETES_SERVICE_PORT', String(options.apiServer.port));
    env.set('KUBERNETES_SERVICE_PORT_HTTPS', String(options.apiServer.port));
  }
  const source = (
    kind: 'Secret' | 'ConfigMap',
    name: string,
    optional: boolean,
  ) => {
    const obj = find(objects, kind, name, namespace);
    if (!obj && !optional)
      throw new Error(
        `${where}: Error: ${kind.toLowerCase()} "${name}" not found`,
      );
    return obj;
  };
  for (const from of c.envFrom ?? []) {
    const ref = from.secretRef ?? from.configMapRef;
    const kind = from.secretRef ? 'Secret' : 'ConfigMap';
    const obj = source(kind, ref.name, !!ref.optional);
    for (const [k, v] of Object.entries(obj ? dataOf(obj) : {})) {
      // The kubelet skips keys that are not valid env names (and reports an event).
      if (ENV_NAME.test(`${from.prefix ?? ''}${k}`))
        env.set(`${from.prefix ?? ''}${k}`, v.toString('utf8'));
    }
  }
  const fieldValue = (fieldPath: string): string => {
    const label = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
    if (label) return (template.metadata as Json)[label[1]]?.[label[2]] ?? '';
    const fields: Record<string, string> = {
      'metadata.name': podName,
      'metadata.namespace': namespace,
      'metadata.uid':
        template.metadata.uid ??
        `00000000-0000-0000-0000-${Buffer.from(podName).toString('hex').slice(0, 12).padEnd(12, '0')}`,
      'spec.serviceAccountName': pod.serviceAccountName ?? 'default',
      'spec.nodeName': placement.nodeName,
      'status.podIP': placement.podIP,
      'status.podIPs': placement.podIP,
      'status.hostIP': '127.0.0.1',
    };
    if (!(fieldPath in fields))
      throw new Error(
        `${where}: fieldRef "${fieldPath}" is not supported here`,
      );
    return fields[fieldPath];
  };
  for (const e of c.env ?? []) {
    if (!ENV_NAME.test(e.name))
      throw new Error(
        `${where}: env name ${JSON.stringify(e.name)} is not a valid environment variable name`,
      );
    const vf: Json | undefined = e.valueFrom;
    if (!vf) {
      env.set(e.name, expand(String(e.value ?? ''), env));
      continue;
    }
    const keyRef = vf.secretKeyRef ?? vf.configMapKeyRef;
    if (keyRef) {
      const kind = vf.secretKeyRef ? 'Secret' : 'ConfigMap';
      const obj = source(kind, keyRef.name, !!keyRef.optional);
      if (!obj) continue;
      const value = dataOf(obj)[keyRef.key];
      if (value === undefined) {
        if (keyRef.optional) continue;
        throw new Error(
          `${where}: Error: couldn't find key ${keyRef.key} in ${kind} ${namespace}/${keyRef.name}`,
        );
      }
      env.set(e.name, value.toString('utf8'));
    } else if (vf.fieldRef) {
      env.set(e.name, fieldValue(vf.fieldRef.fieldPath));
    } else {
      throw new Error(
        `${where}: env ${e.name}: only value, secretKeyRef, configMapKeyRef and fieldRef are resolved here`,
      );
    }
  }

  // Kubernetes semantics: command replaces ENTRYPOINT (and drops CMD), args replace CMD.
  const expandAll = (xs: string[]) => xs.map(x => expand(String(x), env));
  const argv = c.command
    ? [...expandAll(c.command), ...expandAll(c.args ?? [])]
    : [...image.entrypoint, ...(c.args ? expandAll(c.args) : image.cmd)];
  if (!argv.length)
    throw new Error(
      `${where}: nothing to run (no command and image ${image.image} has no ENTRYPOINT/CMD)`,
    );

  // Security context: the container's fields win over the pod's.
  const psc: Json = pod.securityContext ?? {};
  const csc: Json = c.securityContext ?? {};
  const uid: number = csc.runAsUser ?? psc.runAsUser ?? image.uid;
  const userOverridden =
    csc.runAsUser !== undefined || psc.runAsUser !== undefined;
  // A runAsUser without runAsGroup gets the image user's group only when it is that user (else root's group).
  const gid: number =
    csc.runAsGroup ??
    psc.runAsGroup ??
    (userOverridden && uid !== image.uid ? 0 : image.gid);
  const runAsNonRoot = csc.runAsNonRoot ?? psc.runAsNonRoot;
  if (runAsNonRoot && uid === 0) {
    throw new Error(
      `${where}: Error: container has runAsNonRoot and image will run as root`,
    );
  }
  const fsGroup: number | undefined = psc.fsGroup;
  const groups = [
    ...new Set<number>([
      ...(psc.supplementalGroups ?? []),
      ...(fsGroup !== undefined ? [fsGroup] : []),
    ]),
  ];

  // Volumes.
  const ports: Record<string, number> = {};
  for (const p of c.ports ?? []) if (p.name) ports[p.name] = p.containerPort;
  const volumes = new Map<string, Json>(
    (pod.volumes ?? []).map((v: Json) => [v.name, v]),
  );
  const filesOf = (
    v: Json,
    src: Json = v.secret ?? v.configMap,
    kind: 'Secret' | 'ConfigMap' = v.secret ? 'Secret' : 'ConfigMap',
    inheritedMode?: number,
  ): VolumeFile[] => {
    const name: string = src.secretName ?? src.name;
    const obj = find(objects, kind, name, namespace);
    const fail = (msg: string) =>
      new Error(
        `${where}: MountVolume.SetUp failed for volume "${v.name}" : ${msg}`,
      );
    if (!obj) {
      if (src.optional) return [];
      throw fail(`${kind.toLowerCase()} "${name}" not found`);
    }
    const data = dataOf(obj);
    const defaultMode: number = inheritedMode ?? src.defaultMode ?? 0o644;
    const items: Json[] =
      src.items ?? Object.keys(data).map(key => ({ key, path: key }));
    return items.flatMap(item => {
      if (data[item.key] === undefined) {
        if (src.optional) return [];
        throw fail(
          `${kind === 'Secret' ? 'secret' : 'configmap'} references non-existent ${kind === 'Secret' ? 'secret' : 'config'} key: ${item.key}`,
        );
      }
      return [
        {
          path: checkPath(item.path, `volume ${v.name} item path`, true),
          content: data[item.key],
          mode: item.mode ?? defaultMode,
        },
      ];
    });
  };
  // A projected volume, as the ServiceAccount admission adds one (kube-api-access-*): the token
  // (the one given in `apiServer`, requested by the node for this pod), ConfigMap/Secret items
  // (kube-root-ca.crt) and downwardAPI fields.
  const projectedFiles = (v: Json): VolumeFile[] => {
    const mode: number = v.projected.defaultMode ?? 0o644;
    return (v.projected.sources ?? []).flatMap(
      (projection: Json): VolumeFile[] => {
        if (projection.serviceAccountToken) {
          if (!options.apiServer)
            throw new Error(
              `${where}: volume "${v.name}" projects a service account token, which needs the apiServer option`,
            );
          return [
            {
              path: checkPath(
                projection.serviceAccountToken.path,
                `volume ${v.name} token path`,
                true,
              ),
              content: Buffer.from(options.apiServer.token),
              mode,
            },
          ];
        }
        if (projection.configMap)
          return filesOf(v, projection.configMap, 'ConfigMap', mode);
        if (projection.secret)
          return filesOf(v, projection.secret, 'Secret', mode);
        if (projection.downwardAPI)
          return (projection.downwardAPI.items ?? []).map((item: Json) => {
            if (!item.fieldRef)
              throw new Error(
                `${where}: volume "${v.name}": only downwardAPI fieldRef items are projected here`,
              );
            return {
              path: checkPath(item.path, `volume ${v.name} item path`, true),
              content: Buffer.from(fieldValue(item.fieldRef.fieldPath)),
              mode: item.mode ?? mode,
            };
          });
        throw new Error(
          `${where}: volume "${v.name}": only serviceAccountToken, configMap, secret and downwardAPI sources are projected here`,
        );
      },
    );
  };
  const mounts: Mount[] = (c.volumeMounts ?? []).map((m: Json): Mount => {
    const v = volumes.get(m.name);
    if (!v)
      throw new Error(
        `${where}: volumeMount "${m.name}" names no volume of the pod`,
      );
    const mountPath = checkPath(m.mountPath, `volumeMount ${m.name} mountPath`);
    const subPath = m.subPath
      ? checkPath(m.subPath, `volumeMount ${m.name} subPath`, true)
      : undefined;
    if (v.projected)
      return {
        kind: 'files',
        volume: v.name,
        mountPath,
        subPath,
        files: projectedFiles(v),
        readOnly: true,
      };
    if (v.secret || v.configMap)
      return {
        kind: 'files',
        volume: v.name,
        mountPath,
        subPath,
        files: filesOf(v),
        readOnly: true,
      };
    if (v.emptyDir) {
      const sizeBytes =
        v.emptyDir.sizeLimit !== undefined
          ? quantityBytes(v.emptyDir.sizeLimit)
          : undefined;
      return {
        kind: 'emptyDir',
        volume: v.name,
        mountPath,
        subPath,
        sizeBytes,
        readOnly: !!m.readOnly,
      };
    }
    throw new Error(
      `${where}: volume "${v.name}": only secret, configMap, projected and emptyDir volumes are mounted here`,
    );
  });

  // The service account token, as the kubelet projects it when the pod (or its ServiceAccount) automounts.
  const saName: string = pod.serviceAccountName ?? 'default';
  const sa = find(objects, 'ServiceAccount', saName, namespace);
  const automount =
    pod.automountServiceAccountToken ??
    sa?.automountServiceAccountToken ??
    true;
  if (
    options.apiServer &&
    automount &&
    !mounts.some(m => m.mountPath === SERVICE_ACCOUNT_DIR)
  ) {
    const files = [
      {
        path: 'token',
        content: Buffer.from(options.apiServer.token),
        mode: 0o644,
      },
      {
        path: 'ca.crt',
        content: Buffer.from(options.apiServer.caPem),
        mode: 0o644,
      },
      { path: 'namespace', content: Buffer.from(namespace), mode: 0o644 },
    ];
    mounts.push({
      kind: 'files',
      volume: 'kube-api-access',
      mountPath: SERVICE_ACCOUNT_DIR,
      files,
      readOnly: true,
    });
  }

  return {
    image,
    plan: {
      podName,
      namespace,
      container: c.name,
      argv,
      workingDir: checkPath(c.workingDir ?? image.workingDir, 'workingDir'),
      uid,
      gid,
      groups,
      env: [...env.entries()],
      readOnlyRoot: !!csc.readOnlyRootFilesystem,
      noNewPrivs: csc.allowPrivilegeEscalation === false,
      dropAllCapabilities: (csc.capabilities?.drop ?? []).includes('ALL'),
      mounts,
      ports,
      containerPorts: [
        ...new Set<number>(
          (c.ports ?? [])
            .filter((p: Json) => (p.protocol ?? 'TCP') === 'TCP')
            .map((p: Json) => p.containerPort),
        ),
      ],
      startupProbe: probeOf(c.startupProbe, ports, `${where} startupProbe`),
      readinessProbe: probeOf(
        c.readinessProbe,
        ports,
        `${where} readinessProbe`,
      ),
      livenessProbe: probeOf(c.livenessProbe, ports, `${where} livenessProbe`),
      terminationGraceSeconds: pod.terminationGracePeriodSeconds ?? 30,
    },
  };
}
