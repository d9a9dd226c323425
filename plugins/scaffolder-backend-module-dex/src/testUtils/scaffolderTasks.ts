/**
 * Scaffolder tasks through the scaffolder's REST API, as a user or a script submits them: for the
 * app's production test and the scaffolder module's tests alike.
 */

import type { JsonObject } from '@backstage/types';

/** Where to send requests: a backend's base URL and credentials, behind `fetch`. */
export interface ScaffolderEndpoint {
  /** Names the backend in messages. */
  name: string;
  fetch(urlPath: string, init?: RequestInit): Promise<Response>;
}

export type TaskEvent = {
  type: string;
  body: {
    message?: string;
    status?: string;
    stepId?: string;
    output?: Record<string, unknown>;
  };
};

/** A task that ended: its status, its template's output and its log. */
export interface TaskRun {
  id: string;
  status: string;
  output: Record<string, unknown>;
  events: TaskEvent[];
  /** The log: every event's message, one a line. */
  text: string;
}

const TERMINAL = ['completed', 'failed', 'cancelled'];

/**
 * The Add Dex auth form's values for a plain install into `namespace` on cluster "local": Dex and
 * the authenticator behind Ingresses, for component:default/payments-api; `extra` replaces keys.
 */
export function addDexAuthValues(
  namespace: string,
  extra: JsonObject = {},
): JsonObject {
  return {
    entity: 'component:default/payments-api',
    cluster: 'local',
    namespace,
    instance: 'dex',
    version: '2.45.1',
    dexExposure: {
      serviceType: 'ClusterIP',
      ingress: { enabled: true, host: `dex.${namespace}.example.test` },
    },
    authenticatorExposure: {
      serviceType: 'ClusterIP',
      ingress: { enabled: true, host: `login.${namespace}.example.test` },
    },
    authenticator: true,
    ...extra,
  };
}

async function json<T>(
  via: ScaffolderEndpoint,
  urlPath: string,
  init?: RequestInit,
): Promise<{ status: number; body: T }> {
  const res = await via.fetch(urlPath, init);
  const text = await res.text();
  if (!res.ok)
    throw new Error(
      `${via.name}: ${init?.method ?? 'GET'} ${urlPath} answered ${res.status}: ${text}`,
    );
  return { status: res.status, body: JSON.parse(text) as T };
}

/** POST /api/scaffolder/v2/tasks: starts `template` with the form's values (and task secrets). */
export async function submitTask(
  via: ScaffolderEndpoint,
  task: {
    template: string;
    values: Record<string, unknown>;
    secrets?: Record<string, string>;
  },
): Promise<string> {
  const created = await json<{ id: string }>(via, '/api/scaffolder/v2/tasks', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      templateRef: `template:default/${task.template}`,
      values: task.values,
      ...(task.secrets ? { secrets: task.secrets } : {}),
    }),
  });
  if (created.status !== 201)
    throw new Error(
      `${via.name}: POST /api/scaffolder/v2/tasks answered ${created.status}`,
    );
  return created.body.id;
}

/** A task's status now (open, processing, completed, failed, cancelled). */
export async function taskStatus(
  via: ScaffolderEndpoint,
  id: string,
): Promise<string> {
  return (await json<{ status: string }>(via, `/api/scaffolder/v2/tasks/${id}`))
    .body.status;
}

/** A task's events so far, and its log. */
export async function taskEvents(
  via: ScaffolderEndpoint,
  id: string,
): Promise<{ events: TaskEvent[]; text: string }> {
  const events = (
    await json<TaskEvent[]>(via, `/api/scaffolder/v2/tasks/${id}/events`)
  ).body;
  return { events, text: events.map(e => e.body.message ?? '').join('\n') };
}

/**
 * Polls until the task ends (asking the given backends in turn: replicas share the task) or
 * `timeoutMs` passes, then reads its events. `during` gets the log so far while it runs (a test
 * playing a controller).
 */
export async function settleTask(
  id: string,
  via: ScaffolderEndpoint[],
  options: {
    timeoutMs?: number;
    pollMs?: number;
    during?: (text: string) => Promise<void>;
  } = {},
): Promise<TaskRun> {
  const { timeoutMs = 120_000, pollMs = 250, during } = options;
  let status = 'open';
  for (
    let i = 0, deadline = Date.now() + timeoutMs;
    Date.now() < deadline;
    i++
  ) {
    status = await taskStatus(via[i % via.length], id);
    if (TERMINAL.includes(status)) break;
    if (during) await during((await taskEvents(via[0], id)).text);
    await new Promise(r => setTimeout(r, pollMs));
  }
  const { events, text } = await taskEvents(via[0], id);
  const completion = events.find(e => e.type === 'completion');
  return {
    id,
    status,
    output: completion?.body.output ?? {},
    events,
    text,
  };
}
