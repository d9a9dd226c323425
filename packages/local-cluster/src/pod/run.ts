/**
 * runPod: a Pod (or one replica of a rendered Deployment), run the way its image runs in a
 * cluster, as a process in its own mount, network, UTS and PID namespaces (Linux, as root). See
 * README "runPod".
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { hostProcess } from '../process';
import { ownedWorkDir } from '../workDir';
import { resolveImage } from './image';
import { Forwarder, startForwarder } from './network';
import { ProbeResult, runProbe } from './probe';
import { setupScript, writeVolumes } from './rootfs';
import {
  KubeObject,
  planPod,
  PodPlacement,
  podOfDeployment,
  PodSource,
} from './spec';

export type { KubeObject, PodSource, PodPlacement } from './spec';

/** A host address the pod reaches at the same address and port from inside its network namespace. */
export interface EgressAddress {
  host: string;
  port: number;
}

export interface RunPodOptions {
  /** Rendered objects (plain JSON as dex-node's render() returns): the Deployment (unless `pod`) and the Secrets/ConfigMaps/ServiceAccount it references. */
  objects: KubeObject[];
  /** Name of the Deployment to run one replica of (a pod named `<name>-local`); or `pod`. */
  deployment?: string;
  /** The Pod to run (metadata and spec, e.g. read from the apiserver); or `deployment`. */
  pod?: PodSource;
  /** Its IP and node, for fieldRefs (status.podIP, spec.nodeName); default 127.0.0.1 and "localhost". */
  placement?: PodPlacement;
  /** Container name; default the first container. */
  container?: string;
  /** containerPort -> host port on `hostAddress` (tests pick it with freePort() before rendering URLs). */
  ports?: Partial<Record<number, number>>;
  /** The loopback address the `ports` listen on (default 127.0.0.1; the node agent gives each pod its own). */
  hostAddress?: string;
  /**
   * Host loopback ports (on 127.0.0.1) or addresses the pod reaches at the same address and port from
   * inside its network namespace (the apiserver, another pod's forwarded port, a LoadBalancer address).
   */
  egress?: Array<number | EgressAddress>;
  /**
   * In-cluster API access: sets KUBERNETES_SERVICE_HOST/PORT (host "::ffff:127.0.0.1" by default:
   * Dex < 2.36 built with Go 1.26 needs it, see ENVIRONMENT.md) and projects token + ca.crt at
   * /var/run/secrets/kubernetes.io/serviceaccount when the pod spec automounts. Its port is
   * forwarded out of the pod (egress) too.
   */
  apiServer?: { port: number; caPem: string; token: string; host?: string };
  /** Extra environment (e.g. for tests); the container's env wins. */
  env?: Record<string, string>;
}

export interface RunningPod {
  /** The container's main process (host pid; pid 1 inside the pod). */
  pid: number;
  /** stdout+stderr so far (for error messages). */
  logs(): string;
  /** Resolves when the process exits. */
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** Runs the container's readinessProbe (httpGet/https via the forwarded port) until it passes; rejects with the logs when the process exits or the timeout passes. */
  ready(timeoutMs?: number): Promise<void>;
  /** Runs the startup, readiness or liveness probe once (undefined: the container has none). */
  probe(
    which: 'startup' | 'readiness' | 'liveness',
  ): Promise<ProbeResult | undefined>;
  /** Lets the pod reach one more host address (e.g. a LoadBalancer address that appeared later). */
  addEgress(address: EgressAddress): Promise<void>;
  stop(): Promise<void>;
}

const POD_DIR_PREFIX = 'backstage-dex-pod-';
const UNSHARE_KILLED =
  /^unshare: sigprocmask unblock failed: Invalid argument\n?/m;
const LOG_LIMIT = 1 << 20;
const SETUP_TIMEOUT_MS = 30_000;
const TOOLS = [
  '/usr/bin/setpriv',
  '/usr/bin/unshare',
  '/usr/bin/nsenter',
  '/usr/sbin/chroot',
  '/usr/sbin/ip',
  '/usr/bin/mount',
  '/usr/bin/env',
];

const LIVE = Symbol.for('@backstage-dex/local-cluster/live-pods');
type WithLive = { [LIVE]?: Set<{ kill(): void }> };

/**
 * Everything still running, killed (and its folder removed) when this process exits. One set and
 * one listener on the real process (under jest, `process` is a per-file copy whose 'exit'
 * listeners never run), however many test files load this module.
 */
const live: Set<{ kill(): void }> = ((hostProcess as WithLive)[LIVE] ??=
  (() => {
    const pods = new Set<{ kill(): void }>();
    hostProcess.once('exit', () => {
      for (const p of pods) p.kill();
    });
    return pods;
  })());

/** Pod folders live in RAM (Secrets' files are written there), outside any clone. */
function podRoot(): string {
  return fs.existsSync('/dev/shm') ? '/dev/shm' : '/tmp';
}

function checkHost() {
  if (process.platform !== 'linux')
    throw new Error('runPod needs Linux (mount and network namespaces)');
  if (process.getuid?.() !== 0)
    throw new Error(
      'runPod needs root (it creates mount and network namespaces); run the tests as root',
    );
  const missing = TOOLS.filter(t => !fs.existsSync(t));
  if (missing.length)
    throw new Error(
      `runPod needs util-linux and iproute2: missing ${missing.join(', ')}`,
    );
}

/** Whether a process has a handler for SIGTERM (SigCgt in /proc/<pid>/status). */
function catchesSigterm(pid: number): boolean {
  try {
    const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(
      fs.readFileSync(`/proc/${pid}/status`, 'utf8'),
    )?.[1];
    return mask !== undefined && (BigInt(`0x${mask}`) & (1n << 14n)) !== 0n;
  } catch {
    return false;
  }
}

function childPid(parent: number): number | undefined {
  try {
    const pid = Number(
      fs
        .readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8')
        .trim()
        .split(/\s+/)[0],
    );
    return pid || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs one replica of `options.deployment` from `options.objects` as its image would run it:
 * ENTRYPOINT/CMD or the container's command/args, the image's working folder and user (or the
 * securityContext's), env resolved from the objects, every volume at its mountPath, the image's
 * files at their image paths, a read-only root when asked. Resolves once the container's process
 * runs (call `ready()` for its readiness probe); rejects with a kubelet-like message when the pod
 * cannot start (missing Secret, key, image build).
 */
export async function runPod(options: RunPodOptions): Promise<RunningPod> {
  checkHost();
  if (!options.pod === !options.deployment)
    throw new Error('runPod: give one of `deployment` and `pod`');
  const podSource =
    options.pod ?? podOfDeployment(options.objects, options.deployment!);
  const { plan, image } = planPod({
    objects: options.objects,
    pod: podSource,
    container: options.container,
    image: resolveImage,
    apiServer: options.apiServer,
    env: options.env,
    placement: options.placement,
  });
  const dir = ownedWorkDir(POD_DIR_PREFIX, {
    root: podRoot(),
    label: `${plan.podName}-`,
  });
  const children = new Set<ChildProcess>();
  const track = (c: ChildProcess) => {
    children.add(c);
    c.once('exit', () => children.delete(c));
  };
  const entry = {
    kill() {
      for (const c of children) c.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  live.add(entry);
  let forwarder: Forwarder | undefined;
  let output = '';
  const append = (d: Buffer) => {
    output += d.toString('utf8');
    if (output.length > LOG_LIMIT) output = output.slice(-LOG_LIMIT);
  };
  const logs = () => output;
  try {
    for (const d of ['upper', 'work', 'root'])
      fs.mkdirSync(path.join(dir, d), { mode: 0o755 });
    const fsGroup: number | undefined =
      podSource.spec?.securityContext?.fsGroup;
    const volumeSources = writeVolumes(plan, dir, fsGroup);
    const script = path.join(dir, 'setup.sh');
    fs.writeFileSync(
      script,
      setupScript({ plan, image, dir, volumeSources, hostname: plan.podName }),
      { mode: 0o700 },
    );

    const proc = spawn(
      '/usr/bin/setpriv',
      [
        '--pdeathsig',
        'KILL',
        '--',
        '/usr/bin/unshare',
        '--mount',
        '--net',
        '--uts',
        '--pid',
        '--fork',
        '--kill-child=SIGKILL',
        '--propagation',
        'private',
        '--',
        '/bin/sh',
        script,
      ],
      {
        env: Object.fromEntries(plan.env),
        stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      },
    );
    track(proc);
    proc.stdout!.on('data', append);
    proc.stderr!.on('data', append);
    // unshare --fork passes on its child's exit code; a child killed by a signal it re-raises on
    // itself, except SIGKILL, where util-linux 2.38 fails with "sigprocmask unblock failed" and exit 1.
    const exited = new Promise<{ code: number | null; signal: string | null }>(
      resolve =>
        proc.once('exit', (code, signal) => {
          const killed = UNSHARE_KILLED.test(output);
          output = output.replace(UNSHARE_KILLED, '');
          resolve(
            killed && code === 1
              ? { code: null, signal: 'SIGKILL' }
              : { code, signal },
          );
        }),
    );
    const where = `pod ${plan.namespace}/${plan.podName} (${image.image})`;
    const exitedEarly = (what: string) =>
      exited.then(({ code, signal }) => {
        throw new Error(
          `${where} exited (${signal ?? `exit code ${code}`}) ${what}. Output:\n${logs().trim().split('\n').slice(-40).join('\n')}`,
        );
      });

    // Namespaces and root are ready when the script says so on fd 3.
    await Promise.race([
      new Promise<void>(resolve =>
        (proc.stdio[3] as NodeJS.ReadableStream).once('data', () => resolve()),
      ),
      exitedEarly('while its namespaces and root were set up'),
      new Promise<never>((_, reject) =>
        setTimeout(
          () =>
            reject(
              new Error(
                `${where}: setup did not finish within ${SETUP_TIMEOUT_MS} ms. Output:\n${logs()}`,
              ),
            ),
          SETUP_TIMEOUT_MS,
        ).unref(),
      ),
    ]);
    const probePorts = [
      plan.startupProbe,
      plan.readinessProbe,
      plan.livenessProbe,
    ]
      .flatMap(p => [p?.httpGet?.port, p?.tcpSocket?.port])
      .filter((p): p is number => p !== undefined);
    const ports: Record<number, number> = {};
    for (const [containerPort, hostPort] of Object.entries(
      options.ports ?? {},
    )) {
      if (hostPort !== undefined) ports[Number(containerPort)] = hostPort;
    }
    for (const p of probePorts) ports[p] ??= 0;
    const egress = new Map<string, EgressAddress>();
    for (const e of [
      ...(options.egress ?? []),
      ...(options.apiServer ? [options.apiServer.port] : []),
    ]) {
      const address =
        typeof e === 'number' ? { host: '127.0.0.1', port: e } : e;
      egress.set(`${address.host}:${address.port}`, address);
    }
    forwarder = await startForwarder({
      nsPid: proc.pid!,
      address: options.hostAddress,
      ports,
      egress: [...egress.values()],
      track,
    });
    const fw = forwarder;
    proc.stdin!.end('go\n');
    // The container's process: the forked child of unshare (pid 1 in the pod).
    let pid: number | undefined;
    for (let i = 0; i < 100 && !pid; i++) {
      pid = childPid(proc.pid!);
      if (!pid) await new Promise(r => setTimeout(r, 10));
    }
    if (!pid)
      throw new Error(
        `${where}: its process did not start. Output:\n${logs()}`,
      );

    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        // SIGTERM to the container's process, SIGKILL after the grace period (at most 10 s here).
        // As pid 1 of its namespace it never receives a SIGTERM it has no handler for: no need to
        // wait the grace period out then (the kubelet would, and then kill it the same way).
        // The pid is only signalled while unshare runs: until unshare reaps it, it cannot be reused.
        const running = () =>
          proc.exitCode === null && proc.signalCode === null;
        try {
          if (running())
            process.kill(pid!, catchesSigterm(pid!) ? 'SIGTERM' : 'SIGKILL');
        } catch {
          // already gone
        }
        const grace = setTimeout(
          () => {
            // pid 1 of a PID namespace ignores SIGTERM without a handler; SIGKILL ends the namespace.
            try {
              if (running()) process.kill(pid!, 'SIGKILL');
            } catch {
              // already gone
            }
            proc.kill('SIGKILL');
          },
          Math.min(plan.terminationGraceSeconds, 10) * 1000,
        );
        await exited;
        clearTimeout(grace);
        await fw.stop();
        fs.rmSync(dir, { recursive: true, force: true });
        live.delete(entry);
      })();
      return stopping;
    };
    // A pod whose process exits on its own leaves nothing behind either.
    exited.then(() => fw.stop()).catch(() => undefined);

    const probeContext = () => ({
      hostPorts: fw.hostPorts,
      host: options.hostAddress,
      pid: pid!,
      uid: plan.uid,
      gid: plan.gid,
      env: plan.env,
    });
    return {
      pid,
      logs,
      exited,
      async probe(which) {
        const p = plan[`${which}Probe`];
        return p ? runProbe(p, probeContext()) : undefined;
      },
      addEgress: address => fw.addEgress(address),
      async ready(timeoutMs = 60_000) {
        const probe = plan.readinessProbe;
        const deadline = Date.now() + timeoutMs;
        let last = 'not probed yet';
        let done = false;
        const gone = exitedEarly('before it was ready').finally(
          () => (done = true),
        );
        gone.catch(() => undefined);
        while (!done) {
          if (!probe) return;
          const result = await runProbe(probe, probeContext());
          if (result.ok) return;
          last = result.reason;
          if (Date.now() > deadline) {
            throw new Error(
              `${where} not ready within ${timeoutMs} ms: Readiness probe failed: ${last}. Output:\n${logs().trim().split('\n').slice(-40).join('\n')}`,
            );
          }
          await Promise.race([
            new Promise(r => setTimeout(r, 200)),
            gone.catch(() => undefined),
          ]);
        }
        await gone;
      },
      stop,
    };
  } catch (e) {
    await forwarder?.stop();
    entry.kill();
    live.delete(entry);
    throw e;
  }
}
