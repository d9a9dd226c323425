/** One run of a container's probe, as the kubelet runs it: true when it passes, else why not. */
import { execFile } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { Probe } from './spec';

export type ProbeResult = { ok: true } | { ok: false; reason: string };

const TIMEOUT_MS = 1000;

function httpGet(
  p: NonNullable<Probe['httpGet']>,
  host: string,
  hostPort: number,
  timeoutMs: number,
): Promise<ProbeResult> {
  return new Promise(resolve => {
    const lib = p.scheme === 'HTTPS' ? https : http;
    // The kubelet does not verify the serving certificate of an HTTPS probe.
    const req = lib.request(
      {
        host,
        port: hostPort,
        path: p.path,
        method: 'GET',
        headers: p.headers,
        rejectUnauthorized: false,
        timeout: timeoutMs,
      },
      res => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve(
          status >= 200 && status < 400
            ? { ok: true }
            : {
                ok: false,
                reason: `HTTP probe failed with statuscode: ${status}`,
              },
        );
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`timeout after ${timeoutMs} ms`)),
    );
    req.on('error', e =>
      resolve({
        ok: false,
        reason: `Get "${p.scheme.toLowerCase()}://127.0.0.1:${p.port}${p.path}": ${e.message}`,
      }),
    );
    req.end();
  });
}

function tcp(
  host: string,
  hostPort: number,
  port: number,
  timeoutMs: number,
): Promise<ProbeResult> {
  return new Promise(resolve => {
    const s = net.connect({
      host,
      port: hostPort,
      timeout: timeoutMs,
    });
    s.once('connect', () => {
      s.destroy();
      resolve({ ok: true });
    });
    s.once('timeout', () => s.destroy(new Error('timeout')));
    s.once('error', e =>
      resolve({
        ok: false,
        reason: `dial tcp 127.0.0.1:${port}: ${e.message}`,
      }),
    );
  });
}

/**
 * Runs `probe` once. httpGet and tcpSocket go through the pod's forwarded ports (`hostPorts`,
 * containerPort -> host port); exec runs inside the container's namespaces, root and user.
 */
export function runProbe(
  probe: Probe,
  ctx: {
    hostPorts: Record<number, number>;
    /** The address the forwarded ports listen on (default 127.0.0.1). */
    host?: string;
    pid: number;
    uid: number;
    gid: number;
    env: Array<[string, string]>;
  },
): Promise<ProbeResult> {
  const host = ctx.host ?? '127.0.0.1';
  // The probe's own timeoutSeconds, at least the 1 s these probes always had here.
  const timeoutMs = Math.max(probe.timeoutSeconds * 1000, TIMEOUT_MS);
  if (probe.httpGet)
    return httpGet(
      probe.httpGet,
      host,
      ctx.hostPorts[probe.httpGet.port],
      timeoutMs,
    );
  if (probe.tcpSocket)
    return tcp(
      host,
      ctx.hostPorts[probe.tcpSocket.port],
      probe.tcpSocket.port,
      timeoutMs,
    );
  const command = probe.exec?.command ?? [];
  return new Promise(resolve => {
    execFile(
      '/usr/bin/nsenter',
      [
        '-t',
        String(ctx.pid),
        '-m',
        '-n',
        '-u',
        '-p',
        '-r',
        '-w',
        '-S',
        String(ctx.uid),
        '-G',
        String(ctx.gid),
        '--',
        ...command,
      ],
      { env: Object.fromEntries(ctx.env), timeout: 10 * TIMEOUT_MS },
      (err, stdout, stderr) =>
        resolve(
          err
            ? {
                ok: false,
                reason:
                  `exec ${JSON.stringify(command)}: ${err.message} ${stdout}${stderr}`.trim(),
              }
            : { ok: true },
        ),
    );
  });
}
