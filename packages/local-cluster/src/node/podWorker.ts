/**
 * One Pod bound to the local node, from start to deletion, as a kubelet handles it: reads the
 * objects its container needs, requests its ServiceAccount token (TokenRequest, bound to the Pod),
 * runs it with runPod on a loopback Pod IP, runs its startup probe, then (once that passed) its
 * readiness and liveness probes every periodSeconds, restarts it when it exits or its startup or
 * liveness probe fails (restartCount, back-off),
 * and writes its status and Events through the API.
 */
import { isPortTaken } from '../process';
import { knownImages } from '../pod/image';
import { EgressAddress, runPod, RunningPod } from '../pod/run';
import { KubeObject } from '../pod/spec';
import {
  pickAddress,
  pickPodIP,
  podHostAddresses,
  releaseAddress,
} from './addresses';
import { Json, KubeApi, KubeApiError } from './kubeApi';
import { ConditionTimes, ContainerState, now, podStatus } from './podStatus';

export interface PodWorkerContext {
  /** The API as the node (system:node:<name>). */
  api: KubeApi;
  nodeName: string;
  apiServer: { port: number; caPem: string };
  /** The LoadBalancer addresses pods may reach (egress), at this moment. */
  egress(): EgressAddress[];
  /** Reports a problem the agent cannot put anywhere else (its own API calls failing). */
  log(message: string): void;
}

const SIGNALS: Record<string, number> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2 };
/** The kubelet's crash-loop back-off: 10 s doubling up to 5 minutes (the first restart is immediate). */
const BACKOFF_BASE_S = 10;
const BACKOFF_MAX_S = 300;
const NO_LOCAL_IMAGE = /^No local build of image/;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>(resolve => {
    let timer: NodeJS.Timeout | undefined = undefined;
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });

export class PodWorker {
  private pod: Json;
  private readonly abort = new AbortController();
  private running?: RunningPod;
  private podIP?: string;
  /** The loopback address the pod's ports listen on (what the Pod IP stands for on this host). */
  private hostAddress?: string;
  private restartCount = 0;
  private ready = false;
  private started = false;
  private state: ContainerState = {
    waiting: { reason: 'ContainerCreating' },
  };
  private lastState: ContainerState | Record<string, never> = {};
  private startTime?: string;
  private readonly conditions = new ConditionTimes();
  private lastWritten = '';
  private lastEvent = '';
  private done?: Promise<void>;
  private deleting = false;
  /** Egress addresses the running container has (reset on each start). */
  private egressAdded = new Set<string>();

  constructor(
    pod: Json,
    private readonly ctx: PodWorkerContext,
  ) {
    this.pod = pod;
  }

  private get where() {
    return `${this.pod.metadata.namespace}/${this.pod.metadata.name}`;
  }

  private get container(): Json {
    return this.pod.spec.containers[0];
  }

  get namespace(): string {
    return this.pod.metadata.namespace;
  }

  get name(): string {
    return this.pod.metadata.name;
  }

  /** Lets the running container reach these addresses too (new LoadBalancer addresses). */
  addEgress(addresses: EgressAddress[]): void {
    const pod = this.running;
    if (!pod) return;
    for (const a of this.reachable(addresses)) {
      const key = `${a.host}:${a.port}`;
      if (this.egressAdded.has(key)) continue;
      this.egressAdded.add(key);
      pod
        .addEgress(a)
        .catch(e =>
          this.ctx.log(
            `pod ${this.where}: egress to ${key}: ${(e as Error).message}`,
          ),
        );
    }
  }

  /**
   * The egress addresses this pod can have: not on a port it listens on itself. Inside its
   * namespace an egress address is a listener (127.x.y.z:port), which a container binding
   * 0.0.0.0 on the same port would collide with (e.g. Dex and its own LoadBalancer's port).
   */
  private reachable(addresses: EgressAddress[]): EgressAddress[] {
    const own = new Set<number>(
      (this.container.ports ?? []).map((p: Json) => p.containerPort),
    );
    return addresses.filter(a => !own.has(a.port));
  }

  /** The running container's process (host pid), if any: tests kill it to see a restart. */
  get pid(): number | undefined {
    return this.running?.pid;
  }

  start(): void {
    this.done = this.run().catch(e =>
      this.ctx.log(`pod ${this.where}: ${(e as Error).message}`),
    );
  }

  /** A newer version of the Pod from the watch; a deletion timestamp means: stop, then remove it. */
  update(pod: Json): void {
    this.pod = pod;
    if (pod.metadata.deletionTimestamp && !this.deleting) {
      this.deleting = true;
      this.terminate().catch(e =>
        this.ctx.log(`pod ${this.where}: ${(e as Error).message}`),
      );
    }
  }

  /** Stops the container and the worker (the node stops, or the Pod is gone). */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.running?.stop();
    await this.done;
    if (this.hostAddress) releaseAddress(this.hostAddress);
    if (this.podIP) podHostAddresses.delete(this.podIP);
  }

  /** Graceful deletion: stop the container, then remove the Pod object (as the kubelet does). */
  private async terminate(): Promise<void> {
    await this.stop();
    try {
      await this.ctx.api.request(
        'DELETE',
        `/api/v1/namespaces/${this.pod.metadata.namespace}/pods/${this.pod.metadata.name}`,
        {
          kind: 'DeleteOptions',
          apiVersion: 'v1',
          gracePeriodSeconds: 0,
          preconditions: { uid: this.pod.metadata.uid },
        },
      );
    } catch (e) {
      if (!(
        e instanceof KubeApiError &&
        (e.status === 404 || e.status === 409)
      ))
        throw e;
    }
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    const { containers, initContainers } = this.pod.spec;
    if (containers.length !== 1 || initContainers?.length) {
      await this.fail(
        'Failed',
        `only pods with one container and no init containers run on this node (this one has ${containers.length} and ${initContainers?.length ?? 0})`,
        'CreateContainerConfigError',
      );
      return;
    }
    let attempt = 0;
    while (!signal.aborted) {
      let pod: RunningPod;
      try {
        pod = await this.startContainer();
      } catch (e) {
        const message = (e as Error).message;
        if (isPortTaken(e) && this.hostAddress) {
          // Another local cluster on this machine holds the address: take another one.
          releaseAddress(this.hostAddress);
          this.hostAddress = undefined;
          continue;
        }
        attempt++;
        if (NO_LOCAL_IMAGE.test(message)) {
          await this.fail(
            'Failed',
            `Failed to pull image "${this.container.image}": no program is built for this image here (the node runs the images of packages/local-cluster/images.json: ${knownImages().join(', ')})`,
            attempt > 1 ? 'ImagePullBackOff' : 'ErrImagePull',
          );
        } else {
          await this.fail(
            'Failed',
            `Error: ${message}`,
            'CreateContainerConfigError',
          );
        }
        await sleep(this.backoffMs(attempt), signal);
        continue;
      }
      attempt = 0;
      if (signal.aborted) {
        await pod.stop();
        return;
      }
      this.running = pod;
      const startedAt = now();
      this.state = { running: { startedAt } };
      this.started = !this.container.startupProbe;
      this.ready = this.started && !this.container.readinessProbe;
      await this.event(
        'Normal',
        'Started',
        `Started container ${this.container.name}`,
      );
      await this.writeStatus();
      const ended = await this.supervise(pod);
      if (ended !== 'exit') {
        await this.event(
          'Normal',
          'Killing',
          `Container ${this.container.name} failed ${ended} probe, will be restarted`,
        );
        await pod.stop();
      }
      const { code, signal: sig } = await pod.exited;
      this.running = undefined;
      if (signal.aborted) return;
      this.ready = false;
      this.started = false;
      this.lastState = {
        terminated: {
          exitCode: code ?? 128 + (SIGNALS[sig ?? ''] ?? 9),
          ...(sig ? { signal: SIGNALS[sig] } : {}),
          reason: code === 0 ? 'Completed' : 'Error',
          // terminationMessagePolicy FallbackToLogsOnError: the log's tail (the kubelet's 80 lines / 4 KiB).
          ...(code !== 0
            ? {
                message: pod
                  .logs()
                  .trim()
                  .split('\n')
                  .slice(-80)
                  .join('\n')
                  .slice(-4096),
              }
            : {}),
          startedAt,
          finishedAt: now(),
        },
      };
      const policy = this.pod.spec.restartPolicy ?? 'Always';
      if (policy === 'Never' || (policy === 'OnFailure' && code === 0)) {
        this.state = this.lastState as ContainerState;
        this.lastState = {};
        await this.writeStatus(code === 0 ? 'Succeeded' : 'Failed');
        return;
      }
      this.restartCount++;
      const delay = this.backoffMs(this.restartCount);
      if (delay) {
        this.state = {
          waiting: {
            reason: 'CrashLoopBackOff',
            message: `back-off ${delay / 1000}s restarting failed container=${this.container.name} pod=${this.pod.metadata.name}`,
          },
        };
        await this.event(
          'Warning',
          'BackOff',
          'Back-off restarting failed container',
        );
      } else {
        this.state = { waiting: { reason: 'ContainerCreating' } };
      }
      await this.writeStatus();
      await sleep(delay, signal);
    }
  }

  /** 0 for the first try, then 10 s doubling to 5 minutes. */
  private backoffMs(n: number): number {
    if (n <= 1) return 0;
    return Math.min(BACKOFF_BASE_S * 2 ** (n - 2), BACKOFF_MAX_S) * 1000;
  }

  /**
   * Runs the probes every periodSeconds until the container exits ('exit') or fails its startup or
   * liveness probe. As a kubelet: readiness and liveness wait for the startup probe to pass, and
   * readiness is probed at once when it has.
   */
  private async supervise(
    pod: RunningPod,
  ): Promise<'exit' | 'startup' | 'liveness'> {
    const signal = this.abort.signal;
    const startedMs = Date.now();
    let exited = false;
    pod.exited.then(() => (exited = true));
    const names = {
      startup: 'Startup',
      readiness: 'Readiness',
      liveness: 'Liveness',
    };
    const loop = async (
      which: 'startup' | 'readiness' | 'liveness',
    ): Promise<'passed' | 'failed' | undefined> => {
      const spec = this.container[`${which}Probe`];
      if (!spec) return undefined;
      const period = (spec.periodSeconds ?? 10) * 1000;
      const failureThreshold = spec.failureThreshold ?? 3;
      const successThreshold = spec.successThreshold ?? 1;
      let failures = 0;
      let successes = 0;
      // initialDelaySeconds counts from the container's start, not from the startup probe's pass.
      const delay = (spec.initialDelaySeconds ?? 0) * 1000;
      await Promise.race([
        sleep(Math.max(0, startedMs + delay - Date.now()), signal),
        pod.exited,
      ]);
      while (!exited && !signal.aborted) {
        const result = await pod.probe(which);
        if (exited || signal.aborted || !result) return undefined;
        if (result.ok) {
          failures = 0;
          successes++;
          if (which === 'startup') {
            this.started = true;
            if (!this.container.readinessProbe) this.ready = true;
            await this.writeStatus();
            return 'passed';
          }
          if (
            which === 'readiness' &&
            !this.ready &&
            successes >= successThreshold
          ) {
            this.ready = true;
            await this.writeStatus();
          }
        } else {
          successes = 0;
          failures++;
          await this.event(
            'Warning',
            'Unhealthy',
            `${names[which]} probe failed: ${result.reason}`,
          );
          if (
            which === 'readiness' &&
            this.ready &&
            failures >= failureThreshold
          ) {
            this.ready = false;
            await this.writeStatus();
          }
          if (which !== 'readiness' && failures >= failureThreshold)
            return 'failed';
        }
        await Promise.race([sleep(period, signal), pod.exited]);
      }
      return undefined;
    };
    const untilExit = () => pod.exited.then(() => 'exit' as const);
    if (this.container.startupProbe) {
      const startup = await loop('startup');
      if (startup === 'failed') return 'startup';
      if (startup !== 'passed') return untilExit();
    }
    const liveness = loop('liveness');
    loop('readiness').catch(e =>
      this.ctx.log(`pod ${this.where}: readiness: ${(e as Error).message}`),
    );
    const result = await Promise.race([
      untilExit(),
      liveness.then(r =>
        r === 'failed' ? ('liveness' as const) : untilExit(),
      ),
    ]);
    // The readiness loop ends by itself once the container has exited (it checks before writing).
    return result;
  }

  /** Everything the container needs from the API, then runPod. */
  private async startContainer(): Promise<RunningPod> {
    const { namespace } = this.pod.metadata;
    const spec = this.pod.spec;
    const objects = await this.referencedObjects();
    const saName: string = spec.serviceAccountName ?? 'default';
    let automount: boolean | undefined = spec.automountServiceAccountToken;
    if (automount === undefined) {
      const sa = objects.find(o => o.kind === 'ServiceAccount') as
        Json | undefined;
      automount = sa?.automountServiceAccountToken ?? true;
    }
    let token = '';
    if (automount) {
      // A token bound to this Pod, as the kubelet projects it (the apiserver extends 3607 s to a year
      // for bound tokens by default, so it need not be refreshed while the pod lives here).
      const review = await this.ctx.api.request<Json>(
        'POST',
        `/api/v1/namespaces/${namespace}/serviceaccounts/${saName}/token`,
        {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: {
            expirationSeconds: 3607,
            boundObjectRef: {
              apiVersion: 'v1',
              kind: 'Pod',
              name: this.pod.metadata.name,
              uid: this.pod.metadata.uid,
            },
          },
        },
      );
      token = review.status.token;
    }
    this.podIP ??= pickPodIP();
    this.hostAddress ??= pickAddress('pod');
    podHostAddresses.set(this.podIP, this.hostAddress);
    this.startTime ??= now();
    const egress = this.reachable(this.ctx.egress());
    this.egressAdded = new Set(egress.map(a => `${a.host}:${a.port}`));
    const ports: Record<number, number> = {};
    for (const p of this.container.ports ?? [])
      if ((p.protocol ?? 'TCP') === 'TCP')
        ports[p.containerPort] = p.containerPort;
    return runPod({
      objects,
      pod: { metadata: this.pod.metadata, spec },
      placement: { podIP: this.podIP, nodeName: this.ctx.nodeName },
      hostAddress: this.hostAddress,
      ports,
      egress,
      apiServer: { ...this.ctx.apiServer, token },
    });
  }

  /** The Secrets, ConfigMaps and ServiceAccount the Pod names (missing ones are left out: runPod says so). */
  private async referencedObjects(): Promise<KubeObject[]> {
    const { namespace } = this.pod.metadata;
    const spec = this.pod.spec;
    const secrets = new Set<string>();
    const configMaps = new Set<string>();
    for (const v of spec.volumes ?? []) {
      if (v.secret?.secretName) secrets.add(v.secret.secretName);
      if (v.configMap?.name) configMaps.add(v.configMap.name);
      for (const source of v.projected?.sources ?? []) {
        if (source.secret?.name) secrets.add(source.secret.name);
        if (source.configMap?.name) configMaps.add(source.configMap.name);
      }
    }
    for (const c of spec.containers) {
      for (const e of c.env ?? []) {
        if (e.valueFrom?.secretKeyRef)
          secrets.add(e.valueFrom.secretKeyRef.name);
        if (e.valueFrom?.configMapKeyRef)
          configMaps.add(e.valueFrom.configMapKeyRef.name);
      }
      for (const f of c.envFrom ?? []) {
        if (f.secretRef) secrets.add(f.secretRef.name);
        if (f.configMapRef) configMaps.add(f.configMapRef.name);
      }
    }
    const get = async (path: string, kind: string) => {
      try {
        const obj = await this.ctx.api.request<Json>('GET', path);
        return [{ ...obj, kind }] as KubeObject[];
      } catch (e) {
        // 404: runPod reports it in the kubelet's words. 403 for the ServiceAccount: the Node
        // authorizer does not let nodes read them; the pod spec's automount then decides.
        if (
          e instanceof KubeApiError &&
          (e.status === 404 || (kind === 'ServiceAccount' && e.status === 403))
        )
          return [];
        throw e;
      }
    };
    const base = `/api/v1/namespaces/${namespace}`;
    const lists = await Promise.all([
      ...[...secrets].map(n => get(`${base}/secrets/${n}`, 'Secret')),
      ...[...configMaps].map(n => get(`${base}/configmaps/${n}`, 'ConfigMap')),
      get(
        `${base}/serviceaccounts/${spec.serviceAccountName ?? 'default'}`,
        'ServiceAccount',
      ),
    ]);
    return lists.flat();
  }

  /** A container that cannot start: Pending with the reason in its status, and an Event. */
  private async fail(reason: string, message: string, waiting: string) {
    this.state = { waiting: { reason: waiting, message } };
    this.ready = false;
    await this.event('Warning', reason, message);
    await this.writeStatus();
  }

  /** The Pod's status as a kubelet writes it (merge patch of the whole status; unchanged: not sent). */
  private async writeStatus(terminal?: 'Succeeded' | 'Failed'): Promise<void> {
    const status = podStatus({
      pod: this.pod,
      state: this.state,
      lastState: this.lastState,
      ready: this.ready,
      started: this.started,
      restartCount: this.restartCount,
      podIP: this.podIP,
      startTime: this.startTime,
      containerPid: this.running?.pid,
      terminal,
      conditions: this.conditions,
    });
    const text = JSON.stringify({
      ...status,
      conditions: status.conditions.map((x: Json) => [x.type, x.status]),
    });
    if (text === this.lastWritten) return;
    try {
      await this.ctx.api.request(
        'PATCH',
        `/api/v1/namespaces/${this.pod.metadata.namespace}/pods/${this.pod.metadata.name}/status`,
        { status },
        'application/merge-patch+json',
      );
      this.lastWritten = text;
    } catch (e) {
      if (!(e instanceof KubeApiError && e.status === 404))
        this.ctx.log(
          `pod ${this.where}: writing its status failed: ${(e as Error).message}`,
        );
    }
  }

  /** An Event about the Pod from this node's kubelet (a repeat of the last one is not sent again). */
  private async event(
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ) {
    const key = `${reason}\n${message}`;
    if (key === this.lastEvent) return;
    this.lastEvent = key;
    const { namespace, name, uid } = this.pod.metadata;
    const at = now();
    try {
      await this.ctx.api.request(
        'POST',
        `/api/v1/namespaces/${namespace}/events`,
        {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { generateName: `${name}.`, namespace },
          involvedObject: {
            apiVersion: 'v1',
            kind: 'Pod',
            namespace,
            name,
            uid,
            fieldPath: `spec.containers{${this.container.name}}`,
          },
          type,
          reason,
          message: message.slice(0, 1024),
          source: { component: 'kubelet', host: this.ctx.nodeName },
          reportingComponent: 'kubelet',
          reportingInstance: this.ctx.nodeName,
          firstTimestamp: at,
          lastTimestamp: at,
          count: 1,
        },
      );
    } catch (e) {
      this.ctx.log(
        `pod ${this.where}: writing an Event failed: ${(e as Error).message}`,
      );
    }
  }
}
