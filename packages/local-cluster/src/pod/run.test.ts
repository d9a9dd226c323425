/**
 * runPod with real processes in real namespaces (Linux, root): what a container sees (its root,
 * volumes, env, user), what it can write, how traffic crosses, and the real Dex 2.45.1 started
 * from a Deployment the way its image starts it (docker-entrypoint -> gomplate -> dex).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import YAML from 'yaml';
import { loopbackPki } from '../certs';
import { httpsRequest } from '../https';
import { bcryptHash, passwordGrant } from '../oidc';
import { freePort } from '../process';
import { KubeObject, runPod, RunningPod, RunPodOptions } from './run';

jest.setTimeout(120_000);

// An image with a shell (alpine's busybox) to look around with; its command is overridden.
const SHELL_IMAGE = 'mintel/dex-k8s-authenticator:1.4.0';
const NS = 'team-a';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const running: RunningPod[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map(p => p.stop()));
});

async function start(
  options: Parameters<typeof runPod>[0],
): Promise<RunningPod> {
  const pod = await runPod(options);
  running.push(pod);
  return pod;
}

/** Starts the Deployment `shell` (shellDeployment) among `objects`. */
function startShell(
  objects: KubeObject[],
  options: Omit<RunPodOptions, 'objects' | 'deployment'> = {},
): Promise<RunningPod> {
  return start({ objects, deployment: 'shell', ...options });
}

/** Output of the Deployment `shell` among `objects`, a script that exits. */
async function runScript(
  objects: KubeObject[],
  options: Omit<RunPodOptions, 'objects' | 'deployment'> = {},
): Promise<{ code: number | null; out: string }> {
  const pod = await startShell(objects, options);
  const { code } = await pod.exited;
  return { code, out: pod.logs() };
}

/** A shell container with env var X from key `key` of Secret `name`. */
const withSecretEnv = (name: string, key: string) =>
  shellDeployment(
    'true',
    {},
    { env: [{ name: 'X', valueFrom: { secretKeyRef: { name, key } } }] },
  );

/** The processes (pids) whose namespace of `kind` (net, pid, ...) is `ns` (a readlink of /proc/<pid>/ns/<kind>). */
function processesInNamespace(kind: string, ns: string): string[] {
  return fs
    .readdirSync('/proc')
    .filter(p => /^\d+$/.test(p))
    .filter(p => {
      try {
        return fs.readlinkSync(`/proc/${p}/ns/${kind}`) === ns;
      } catch {
        return false;
      }
    });
}

function shellDeployment(
  script: string,
  spec: Record<string, unknown> = {},
  container: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'shell', namespace: NS },
    spec: {
      template: {
        metadata: { labels: { app: 'shell' } },
        spec: {
          ...spec,
          containers: [
            {
              name: 'sh',
              image: SHELL_IMAGE,
              command: ['/bin/sh', '-c', script],
              ...container,
            },
          ],
        },
      },
    },
  };
}

const secret: KubeObject = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'creds', namespace: NS },
  data: { password: b64('hunter2'), 'tls.key': b64('KEY'), unused: b64('x') },
};

describe('runPod: what the container sees', () => {
  it('with readOnlyRootFilesystem writes only to its volumes (emptyDir), as its user', async () => {
    const { code, out } = await runScript([
      shellDeployment(
        'id -u; id -g; touch /etc/x 2>&1; touch /app/x 2>&1; touch /scratch/x && echo scratch-ok; ' +
          'mkdir /scratch/sub && echo hi > /scratch/sub/f && cat /scratch/sub/f; grep " /scratch " /proc/mounts',
        {
          securityContext: { runAsUser: 1001, runAsNonRoot: true },
          volumes: [
            {
              name: 'scratch',
              emptyDir: { medium: 'Memory', sizeLimit: '1Mi' },
            },
          ],
        },
        {
          securityContext: {
            readOnlyRootFilesystem: true,
            runAsGroup: 2000,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
          },
          volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
        },
      ),
    ]);
    expect(out).toContain('touch: /etc/x: Read-only file system');
    expect(out).toContain('touch: /app/x: Read-only file system');
    expect(out).toContain('scratch-ok');
    expect(out.split('\n').slice(0, 2)).toEqual(['1001', '2000']);
    expect(out).toMatch(/tmpfs \/scratch tmpfs rw,.*size=1024k/);
    expect(out).toContain('hi\n');
    expect(code).toBe(0);
  });

  it('sees no host data: /tmp, /root and the project folder are empty; / is the image', async () => {
    const { out } = await runScript([
      shellDeployment(
        'echo "tmp:$(ls -A /tmp | wc -l) root:$(ls -A /root | wc -l) work:$(ls -A /work 2>/dev/null | wc -l)"; ls /app; readlink -f /proc/1/exe; cat /etc/hostname',
      ),
    ]);
    expect(out).toContain('tmp:0 root:0 work:0');
    expect(out).toMatch(/^bin\nhtml\ntemplates$/m);
    expect(out).toContain('shell-local');
    expect(fs.existsSync('/app')).toBe(false); // the image's /app exists only inside the pod
  });

  it('resolves env from secretKeyRef, configMapKeyRef, fieldRef and $(VAR), image ENV first', async () => {
    const { out } = await runScript([
      secret,
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'settings', namespace: NS },
        data: { mode: 'strict' },
      },
      shellDeployment(
        'env | sort',
        {},
        {
          env: [
            {
              name: 'PASSWORD',
              valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } },
            },
            {
              name: 'MODE',
              valueFrom: { configMapKeyRef: { name: 'settings', key: 'mode' } },
            },
            {
              name: 'POD_NAMESPACE',
              valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } },
            },
            {
              name: 'POD_NAME',
              valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
            },
            {
              name: 'POD_IP',
              valueFrom: { fieldRef: { fieldPath: 'status.podIP' } },
            },
            { name: 'GREETING', value: 'in $(POD_NAMESPACE) as $$(literal)' },
            {
              name: 'MAYBE',
              valueFrom: {
                secretKeyRef: { name: 'creds', key: 'absent', optional: true },
              },
            },
          ],
        },
      ),
    ]);
    const env = Object.fromEntries(
      out
        .trim()
        .split('\n')
        .map(l => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(env).toMatchObject({
      PASSWORD: 'hunter2',
      MODE: 'strict',
      POD_NAMESPACE: NS,
      POD_NAME: 'shell-local',
      POD_IP: '127.0.0.1',
      GREETING: `in ${NS} as $(literal)`,
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOSTNAME: 'shell-local',
    });
    expect(env.MAYBE).toBeUndefined();
  });

  it("mounts a Secret volume's items at their paths with their modes, read-only, and subPath files", async () => {
    const { out } = await runScript([
      secret,
      shellDeployment(
        'ls -lnR /etc/creds | grep -- "-r"; cat /etc/creds/sub/pw; echo; cat /opt/key; echo; touch /etc/creds/x 2>&1; ls /etc/creds',
        {
          volumes: [
            {
              name: 'creds',
              secret: {
                secretName: 'creds',
                defaultMode: 0o440,
                items: [
                  { key: 'password', path: 'sub/pw' },
                  { key: 'tls.key', path: 'key', mode: 0o400 },
                ],
              },
            },
          ],
        },
        {
          volumeMounts: [
            { name: 'creds', mountPath: '/etc/creds' },
            { name: 'creds', mountPath: '/opt/key', subPath: 'key' },
          ],
        },
      ),
    ]);
    expect(out).toMatch(/^-r-------- .* key$/m);
    expect(out).toMatch(/^-r--r----- .* pw$/m);
    expect(out).toContain('hunter2\nKEY\n');
    expect(out).toContain('touch: /etc/creds/x: Read-only file system');
    expect(out).toMatch(/^key\nsub$/m); // only the listed items: `unused` is not there
  });

  it('a missing Secret key fails the way the kubelet reports it, and nothing starts', async () => {
    const before = fs.readdirSync('/dev/shm').length;
    await expect(
      startShell([secret, withSecretEnv('creds', 'nope')]),
    ).rejects.toThrow(
      `pod ${NS}/shell-local container sh: Error: couldn't find key nope in Secret ${NS}/creds`,
    );
    await expect(startShell([withSecretEnv('gone', 'k')])).rejects.toThrow(
      'Error: secret "gone" not found',
    );
    await expect(
      startShell([
        shellDeployment(
          'true',
          { volumes: [{ name: 'v', configMap: { name: 'missing' } }] },
          { volumeMounts: [{ name: 'v', mountPath: '/v' }] },
        ),
      ]),
    ).rejects.toThrow(
      'MountVolume.SetUp failed for volume "v" : configmap "missing" not found',
    );
    expect(fs.readdirSync('/dev/shm').length).toBe(before);
  });

  it('refuses a name that is no DNS label and an env name Kubernetes would not accept', async () => {
    const bad = shellDeployment('true') as any;
    bad.metadata.name = 'Shell;rm';
    await expect(
      runPod({ objects: [bad], deployment: 'Shell;rm' }),
    ).rejects.toThrow('Deployment name "Shell;rm" is not a DNS label');
    await expect(
      startShell([
        shellDeployment('true', {}, { env: [{ name: 'A=B', value: 'x' }] }),
      ]),
    ).rejects.toThrow(
      'env name "A=B" is not a valid environment variable name',
    );
  });

  it('refuses an image it has no build of, and runAsNonRoot for a root image', async () => {
    const other = shellDeployment('true') as any;
    other.spec.template.spec.containers[0].image = 'nginx:1.27';
    await expect(startShell([other])).rejects.toThrow(
      'No local build of image "nginx:1.27"',
    );
    await expect(
      startShell([
        shellDeployment('true', { securityContext: { runAsNonRoot: true } }),
      ]),
    ).rejects.toThrow('container has runAsNonRoot and image will run as root');
  });
});

describe('runPod: network', () => {
  it('forwards a host port into the pod and the pod reaches an egress port on the host', async () => {
    const hostServer = http.createServer((_, res) => res.end('from the host'));
    await new Promise<void>(r => hostServer.listen(0, '127.0.0.1', () => r()));
    const egressPort = (hostServer.address() as net.AddressInfo).port;
    const unforwarded = http.createServer((_, res) =>
      res.end('must not be reached'),
    );
    await new Promise<void>(r => unforwarded.listen(0, '127.0.0.1', () => r()));
    const hiddenPort = (unforwarded.address() as net.AddressInfo).port;
    try {
      const hostPort = await freePort();
      // busybox: serve on 8080 what the pod fetched from the host.
      const script =
        `got=$(wget -q -O - http://127.0.0.1:${egressPort}/ 2>&1); ` +
        `hidden=$(nc -z -w 2 127.0.0.1 ${hiddenPort} && echo reached || echo refused); ` +
        `printf "egress:%s hidden:%s" "$got" "$hidden" > /www/index.html; exec httpd -f -p 8080 -h /www`;
      const pod = await startShell(
        [
          shellDeployment(
            script,
            { volumes: [{ name: 'www', emptyDir: {} }] },
            {
              ports: [{ name: 'http', containerPort: 8080 }],
              readinessProbe: {
                httpGet: { path: '/index.html', port: 'http' },
              },
              volumeMounts: [{ name: 'www', mountPath: '/www' }],
            },
          ),
        ],
        { ports: { 8080: hostPort }, egress: [egressPort] },
      );
      await pod.ready();
      const body = await new Promise<string>((resolve, reject) =>
        http
          .get(`http://127.0.0.1:${hostPort}/index.html`, res => {
            let b = '';
            res.on('data', d => (b += d)).on('end', () => resolve(b));
          })
          .on('error', reject),
      );
      expect(body).toBe('egress:from the host hidden:refused');
    } finally {
      hostServer.close();
      unforwarded.close();
    }
  });

  it("keeps forwarding while the caller's event loop is blocked (spawnSync)", async () => {
    // The host peer is another process (like the apiserver); this test process blocks meanwhile.
    const port = await freePort();
    const peer = spawn(
      process.execPath,
      [
        '-e',
        `require('http').createServer((q, s) => s.end('pong')).listen(${port}, '127.0.0.1', () => console.log('up'))`,
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      await new Promise(r => peer.stdout!.once('data', r));
      const pod = await startShell(
        [
          shellDeployment(
            `sleep 1; timeout 3 wget -q -O - http://127.0.0.1:${port}/ || echo timed-out`,
          ),
        ],
        { egress: [port] },
      );
      spawnSync('sleep', ['4']);
      await pod.exited;
      expect(pod.logs()).toBe('pong');
    } finally {
      peer.kill();
    }
  });

  it('runs an exec readiness probe inside the container (its root, user and namespaces)', async () => {
    const pod = await startShell([
      shellDeployment(
        'sleep 1; touch /tmp/ready; exec sleep 600',
        { securityContext: { runAsUser: 1001 } },
        {
          readinessProbe: {
            exec: {
              command: [
                '/bin/sh',
                '-c',
                'test -f /tmp/ready && [ "$(id -u)" = 1001 ]',
              ],
            },
          },
        },
      ),
    ]);
    await pod.ready(20_000);
    expect(fs.existsSync('/tmp/ready')).toBe(false); // the pod's /tmp, not the host's
    const never = await startShell([
      shellDeployment(
        'exec sleep 600',
        {},
        {
          readinessProbe: { exec: { command: ['test', '-f', '/tmp/never'] } },
        },
      ),
    ]);
    await expect(never.ready(1000)).rejects.toThrow(
      /not ready within 1000 ms: Readiness probe failed: exec \["test","-f","\/tmp\/never"\]/,
    );
  });

  it('stop() leaves no process, mount or folder behind', async () => {
    // Only this test's pod folders: other jest workers run pods at the same time.
    const podFolders = () =>
      fs
        .readdirSync('/dev/shm')
        .filter(f => f.startsWith(`backstage-dex-pod-${process.pid}-shell-`));
    const before = podFolders();
    // Children and an orphaned grandchild behind pid 1, as behind tini or an entrypoint script.
    const script = 'sleep 600 & (sleep 600 &); echo started; exec sleep 600';
    const pod = await runPod({
      objects: [shellDeployment(script)],
      deployment: 'shell',
      ports: { 9: await freePort() },
    });
    const { pid } = pod;
    expect(fs.existsSync(`/proc/${pid}`)).toBe(true);
    const netns = fs.readlinkSync(`/proc/${pid}/ns/net`);
    const pidns = fs.readlinkSync(`/proc/${pid}/ns/pid_for_children`);
    const inPidNs = () => processesInNamespace('pid', pidns);
    while (!pod.logs().includes('started'))
      await new Promise(r => setTimeout(r, 50));
    expect(inPidNs().length).toBe(3);
    expect(podFolders().length).toBe(before.length + 1);
    expect(netns).not.toBe(fs.readlinkSync('/proc/self/ns/net'));
    await pod.stop();
    expect(await pod.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
    expect(podFolders()).toEqual(before);
    // No process of this test is left in the pod's network namespace (the forwarder ran there).
    expect(processesInNamespace('net', netns)).toEqual([]);
    expect(inPidNs()).toEqual([]);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(
      'backstage-dex-pod-',
    );
  });
});

describe('runPod: the real Dex as its image runs it', () => {
  // One of each image style: the Go docker-entrypoint (2.33+), the shell entrypoint script with
  // busybox (2.28-2.32), ENTRYPOINT dex (before 2.28: no gomplate, health on the web port).
  it.each([
    // `runs`: Dex's command line; from 2.28 the templated copy the entrypoint wrote into the emptyDir.
    {
      version: '2.45.1',
      entrypoint: 'go',
      runs: /^dex serve \/tmp\/dex\.config\.yaml-\d+$/,
    },
    {
      version: '2.30.0',
      entrypoint: 'script',
      runs: /^dex serve \/tmp\/dex\.config\.yaml-\w{6}$/,
    },
    {
      version: '2.25.0',
      entrypoint: 'dex',
      runs: /^dex serve \/etc\/dex\/cfg\/config\.yaml$/,
    },
  ])(
    'Dex $version ($entrypoint entrypoint) starts with a read-only root and serves discovery and a password grant',
    async ({ version, entrypoint, runs }) => {
      const templated = entrypoint !== 'dex';
      const pki = loopbackPki('dex');
      const port = await freePort();
      const issuer = `https://127.0.0.1:${port}/dex`;
      const config = {
        issuer,
        storage: { type: 'memory' },
        web: {
          https: '0.0.0.0:5556',
          tlsCert: '/etc/dex/tls/tls.crt',
          tlsKey: '/etc/dex/tls/tls.key',
        },
        ...(templated ? { telemetry: { http: '0.0.0.0:5558' } } : {}),
        oauth2: { passwordConnector: 'local', skipApprovalScreen: true },
        enablePasswordDB: true,
        staticPasswords: [
          {
            email: 'jane@example.com',
            username: 'jane',
            userID: '1',
            hash: await bcryptHash('pw-of-jane'),
          },
        ],
        // gomplate runs on the config first: this value exists only after templating.
        staticClients: [
          {
            id: 'kubernetes',
            name: 'k8s',
            secret: templated ? '{{ .Env.CLIENT_SECRET }}' : 's3cret-from-env',
            redirectURIs: ['http://127.0.0.1:8000/callback'],
          },
        ],
      };
      const objects: KubeObject[] = [
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'dex-config', namespace: 'dex' },
          stringData: { 'config.yaml': YAML.stringify(config) },
        },
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'dex-tls', namespace: 'dex' },
          data: { 'tls.crt': b64(pki.certPem), 'tls.key': b64(pki.keyPem) },
        },
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'dex-clients', namespace: 'dex' },
          data: { kubernetes: b64('s3cret-from-env') },
        },
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'dex', namespace: 'dex' },
          spec: {
            template: {
              spec: {
                securityContext: { runAsNonRoot: true, runAsUser: 1001 },
                containers: [
                  {
                    name: 'dex',
                    image: `${templated ? 'ghcr.io' : 'quay.io'}/dexidp/dex:v${version}`,
                    args: [
                      ...(templated ? ['dex'] : []),
                      'serve',
                      '/etc/dex/cfg/config.yaml',
                    ],
                    env: [
                      {
                        name: 'CLIENT_SECRET',
                        valueFrom: {
                          secretKeyRef: {
                            name: 'dex-clients',
                            key: 'kubernetes',
                          },
                        },
                      },
                    ],
                    ports: [
                      { name: 'https', containerPort: 5556 },
                      { name: 'telemetry', containerPort: 5558 },
                    ],
                    volumeMounts: [
                      {
                        name: 'config',
                        mountPath: '/etc/dex/cfg',
                        readOnly: true,
                      },
                      {
                        name: 'tls',
                        mountPath: '/etc/dex/tls',
                        readOnly: true,
                      },
                      ...(templated
                        ? [{ name: 'tmp', mountPath: '/tmp' }]
                        : []),
                    ],
                    readinessProbe: templated
                      ? {
                          httpGet: {
                            path: '/healthz/ready',
                            port: 'telemetry',
                            scheme: 'HTTP',
                          },
                        }
                      : {
                          httpGet: {
                            path: '/dex/healthz',
                            port: 'https',
                            scheme: 'HTTPS',
                          },
                        },
                    securityContext: {
                      readOnlyRootFilesystem: true,
                      allowPrivilegeEscalation: false,
                      capabilities: { drop: ['ALL'] },
                    },
                  },
                ],
                volumes: [
                  { name: 'config', secret: { secretName: 'dex-config' } },
                  { name: 'tls', secret: { secretName: 'dex-tls' } },
                  {
                    name: 'tmp',
                    emptyDir: { medium: 'Memory', sizeLimit: '1Mi' },
                  },
                ],
              },
            },
          },
        },
      ];
      const started = Date.now();
      const pod = await start({
        objects,
        deployment: 'dex',
        ports: { 5556: port },
      });
      await pod.ready();
      const readyMs = Date.now() - started;
      const discovery = await httpsRequest(
        `${issuer}/.well-known/openid-configuration`,
        { caPem: pki.caPem },
      );
      expect(discovery.status).toBe(200);
      expect(JSON.parse(discovery.body).issuer).toBe(issuer);
      const token = await passwordGrant({
        issuer,
        caPem: pki.caPem,
        clientId: 'kubernetes',
        clientSecret: 's3cret-from-env',
        username: 'jane@example.com',
        password: 'pw-of-jane',
      });
      expect(token.split('.')).toHaveLength(3);
      expect(
        fs
          .readFileSync(`/proc/${pod.pid}/cmdline`, 'utf8')
          .split('\0')
          .filter(Boolean)
          .join(' '),
      ).toMatch(runs);
      expect(fs.statSync(`/proc/${pod.pid}`).uid).toBe(1001);
      process.stdout.write(
        `runPod: Dex ${version} from start to ready in ${readyMs} ms\n`,
      );
    },
  );

  it('without a writable /tmp the real entrypoint fails as it does in a cluster', async () => {
    const objects: KubeObject[] = [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'dex', namespace: 'dex' },
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: 'dex',
                  image: 'ghcr.io/dexidp/dex:v2.45.1',
                  args: ['dex', 'serve', '/etc/dex/config.docker.yaml'],
                  securityContext: { readOnlyRootFilesystem: true },
                },
              ],
            },
          },
        },
      },
    ];
    const pod = await start({ objects, deployment: 'dex' });
    expect((await pod.exited).code).toBe(1);
    expect(pod.logs()).toMatch(
      /cannot create temp file: open \/tmp\/dex\.config\.yaml-\d+: read-only file system/,
    );
  });
});

describe('runPod: every catalogued image runs its entrypoint', () => {
  const images = JSON.parse(
    fs.readFileSync(`${__dirname}/../../images.json`, 'utf8'),
  ).images as Record<string, { entrypoint: string[] }>;

  function deployment(image: string, args: string[]): KubeObject {
    return {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'img', namespace: 'default' },
      spec: {
        template: { spec: { containers: [{ name: 'c', image, args }] } },
      },
    };
  }

  async function output(image: string, args: string[]) {
    const pod = await start({
      objects: [deployment(image, args)],
      deployment: 'img',
    });
    return { ...(await pod.exited), out: pod.logs() };
  }

  const dexImages = Object.keys(images).filter(i => i.includes('/dex:'));
  // Before 2.28 the ENTRYPOINT is dex itself; from 2.28 an entrypoint runs the args as a command.
  const viaEntrypoint = (image: string) =>
    images[image].entrypoint[0] !== 'dex';

  it.each(dexImages)('%s: dex version', async image => {
    const dex = await output(
      image,
      viaEntrypoint(image) ? ['dex', 'version'] : ['version'],
    );
    expect(dex).toMatchObject({ code: 0 });
    expect(dex.out).toMatch(/Go Version: go1\.\d+/);
  });

  it.each(dexImages.filter(viaEntrypoint))(
    '%s: gomplate through the entrypoint',
    async image => {
      const gomplate = await output(image, ['gomplate', '--version']);
      expect(gomplate).toMatchObject({ code: 0 });
      expect(gomplate.out).toMatch(/gomplate version \d+\.\d+\.\d+/);
    },
  );

  it.each(Object.keys(images).filter(i => i.includes('dex-k8s-authenticator')))(
    '%s: the authenticator from /app',
    async image => {
      // The image's entrypoint script runs /app/bin/dex-k8s-authenticator with the args.
      const { out } = await output(image, ['--help']);
      expect(out).toMatch(/Usage:\s+dex-k8s-authenticator/);
    },
  );
});

describe('runPod: in-cluster API access', () => {
  const sa = (automount: boolean): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'runner', namespace: NS },
    automountServiceAccountToken: automount,
  });
  const script =
    'echo "host=$KUBERNETES_SERVICE_HOST port=$KUBERNETES_SERVICE_PORT"; cat /var/run/secrets/kubernetes.io/serviceaccount/token; echo; cat /var/run/secrets/kubernetes.io/serviceaccount/namespace; echo; head -1 /var/run/secrets/kubernetes.io/serviceaccount/ca.crt';
  const apiServer = {
    port: 6443,
    caPem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
    token: 'sa-token-123',
  };

  it('projects the token, namespace and CA when the ServiceAccount automounts, and sets the service env', async () => {
    const { out } = await runScript(
      [sa(true), shellDeployment(script, { serviceAccountName: 'runner' })],
      { apiServer },
    );
    expect(out).toBe(
      `host=::ffff:127.0.0.1 port=6443\nsa-token-123\n${NS}\n-----BEGIN CERTIFICATE-----\n`,
    );
  });

  it('mounts no token when the pod says automountServiceAccountToken: false', async () => {
    const { out } = await runScript(
      [
        sa(true),
        shellDeployment(
          'ls /var/run/secrets/kubernetes.io/serviceaccount 2>&1',
          { serviceAccountName: 'runner', automountServiceAccountToken: false },
        ),
      ],
      { apiServer },
    );
    expect(out).toContain('No such file or directory');
  });
});
