/**
 * Traffic between the host's loopback and a pod's own network namespace, without changing any
 * interface (scripts/pod-forwarder.cjs): a host-side Node process listens on the host ports and
 * passes the listening sockets to a pod-side process inside the pod's namespace (ingress: host
 * port -> pod port); connections the pod side accepts on 127.0.0.1:<port> inside are passed back
 * and connected on the host (egress). Both run outside the caller's process, so a caller that
 * blocks its event loop (spawnSync) does not stall its pods' traffic.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

// A private package that only ever runs from its source folder (tests, npm start), never bundled.
// eslint-disable-next-line no-restricted-syntax
const sourceDir = __dirname;
const forwarderScript = path.resolve(
  sourceDir,
  '..',
  '..',
  'scripts',
  'pod-forwarder.cjs',
);

export interface Forwarder {
  /** containerPort -> host port on 127.0.0.1, for every forwarded port (given or added for probes). */
  hostPorts: Record<number, number>;
  /** The forwarder's output, for error messages. */
  logs(): string;
  /** Starts forwarding one more host address out of the pod. */
  addEgress(address: { host: string; port: number }): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the forwarder for the network namespace of process `nsPid`: `ports` (containerPort ->
 * host port; 0 picks one) into the pod, `egress` host ports out of it. Resolves once every
 * listener is up, so the pod may start using them.
 */
export async function startForwarder(options: {
  nsPid: number;
  /** The loopback address the host side listens on for `ports` (default 127.0.0.1). */
  address?: string;
  ports: Record<number, number>;
  egress: Array<{ host: string; port: number }>;
  track: (child: ChildProcess) => void;
}): Promise<Forwarder> {
  let output = '';
  const child = spawn(
    '/usr/bin/setpriv',
    ['--pdeathsig', 'KILL', '--', process.execPath, forwarderScript, 'host'],
    {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    },
  );
  options.track(child);
  child.stdout!.on('data', d => (output += d));
  child.stderr!.on('data', d => (output += d));
  const exited = new Promise<void>(resolve =>
    child.once('exit', () => resolve()),
  );
  let podSidePid: number | undefined;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    // The pod side ends by its parent-death signal, a moment after the host side: wait for it,
    // so nothing runs in the pod's network namespace once stop() resolves (bounded: 5 s).
    for (let i = 0; podSidePid && i < 250; i++) {
      if (!fs.existsSync(`/proc/${podSidePid}`)) break;
      await new Promise(r => setTimeout(r, 20));
    }
  };
  try {
    const hostPorts = await new Promise<Record<number, number>>(
      (resolve, reject) => {
        child.once('message', (msg: any) =>
          msg.type === 'ready'
            ? ((podSidePid = msg.podSidePid), resolve(msg.hostPorts))
            : reject(
                new Error(`the pod's port forwarder failed: ${msg.message}`),
              ),
        );
        // 'close' (not 'exit'): by then its last words on stderr have arrived.
        child.once('close', (code, signal) =>
          reject(
            new Error(
              `the pod's port forwarder exited (${signal ?? code}): ${output.trim() || 'no output'}`,
            ),
          ),
        );
        child.send({
          type: 'start',
          nsPid: options.nsPid,
          address: options.address,
          ports: options.ports,
          egress: options.egress,
        });
      },
    );
    // Stay connected (the forwarder ends when this process goes), without keeping it alive.
    child.channel?.unref();
    child.unref();
    let nextId = 0;
    const addEgress = (address: { host: string; port: number }) =>
      new Promise<void>((resolve, reject) => {
        const id = nextId++;
        const onMessage = (msg: any) => {
          if (msg.type !== 'egress-added' || msg.id !== id) return;
          child.off('message', onMessage);
          if (msg.error) reject(new Error(msg.error));
          else resolve();
        };
        child.on('message', onMessage);
        child.send({ type: 'egress', id, ...address });
      });
    return { hostPorts, logs: () => output, addEgress, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
