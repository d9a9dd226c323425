/**
 * The status a kubelet writes for a Pod it runs (one container), from what the node's PodWorker
 * knows: phase, conditions with their transition times, IPs, the container's state.
 */
import { Json } from './kubeApi';

/** A Kubernetes Time (RFC 3339, seconds). */
export const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export type ContainerState =
  | { waiting: { reason: string; message?: string } }
  | { running: { startedAt: string } }
  | {
      terminated: {
        exitCode: number;
        signal?: number;
        reason: string;
        message?: string;
        startedAt: string;
        finishedAt: string;
      };
    };

/** When each Pod condition last changed its status. */
export class ConditionTimes {
  private readonly transitions = new Map<
    string,
    { status: string; at: string }
  >();

  condition(type: string, status: boolean) {
    const value = status ? 'True' : 'False';
    const previous = this.transitions.get(type);
    if (previous?.status !== value)
      this.transitions.set(type, { status: value, at: now() });
    return {
      type,
      status: value,
      lastProbeTime: null,
      lastTransitionTime: this.transitions.get(type)!.at,
    };
  }
}

/** The Pod's whole status (sent as a merge patch: the scheduler's PodScheduled is kept). */
export function podStatus(input: {
  pod: Json;
  state: ContainerState;
  lastState: ContainerState | Record<string, never>;
  ready: boolean;
  /** The startupProbe has passed (or there is none). */
  started: boolean;
  restartCount: number;
  podIP?: string;
  startTime?: string;
  containerPid?: number;
  terminal?: 'Succeeded' | 'Failed';
  conditions: ConditionTimes;
}): Json {
  const running = 'running' in input.state;
  const phase =
    input.terminal ??
    (running || input.restartCount > 0 ? 'Running' : 'Pending');
  const scheduled = (input.pod.status?.conditions ?? []).find(
    (c: Json) => c.type === 'PodScheduled',
  );
  const c = input.pod.spec.containers[0];
  const { conditions } = input;
  return {
    phase,
    conditions: [
      conditions.condition('PodReadyToStartContainers', !!input.podIP),
      conditions.condition('Initialized', true),
      conditions.condition('Ready', input.ready),
      conditions.condition('ContainersReady', input.ready),
      ...(scheduled ? [scheduled] : []),
    ],
    hostIP: '127.0.0.1',
    hostIPs: [{ ip: '127.0.0.1' }],
    ...(input.podIP
      ? { podIP: input.podIP, podIPs: [{ ip: input.podIP }] }
      : {}),
    startTime: input.startTime ?? now(),
    containerStatuses: [
      {
        name: c.name,
        image: c.image,
        imageID: `local-cluster://${c.image}`,
        ...(running && input.containerPid
          ? { containerID: `local-cluster://${input.containerPid}` }
          : {}),
        ready: input.ready,
        started: running && input.started,
        restartCount: input.restartCount,
        state: input.state,
        lastState: input.lastState,
      },
    ],
  };
}
