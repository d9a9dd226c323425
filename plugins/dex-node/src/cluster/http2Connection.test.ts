import fs from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import net, { AddressInfo } from 'node:net';
import { loopbackPki } from '@backstage-dex/local-cluster';
import type { KubeConfig } from '@kubernetes/client-node';
import { clusterClient } from './client';
import { MAX_SHARED_ANSWER_BYTES, clientNode, kubeRequest } from './clientNode';
import { describeKubeError } from './errors';

// A stand-in apiserver (node:http2 or HTTP/1.1 only): the transport's faults (GOAWAY, a reset
// connection, a cancelled stream) are the server's doing, which a real apiserver does not do on
// demand. The transport against a real apiserver is covered by every cluster test.
const pki = loopbackPki('h2-test');
const secret = { apiVersion: 'v1', kind: 'Secret', namespace: 'ns' };

interface Seen {
  path: string;
  authorization?: string;
}

/** Bytes of padding (ASCII) in the answer for a name starting `big-`. */
const BIG_ANSWER_BYTES = 200_000;

/**
 * Answers GET .../<name> with a Secret of that name (`big-*`: padded); `hold` never answers;
 * `reset` drops the connection.
 */
function answer(
  requestPath: string,
  respond: (status: number, body: unknown) => void,
): 'answered' | 'held' | 'reset' {
  const name = requestPath.split('/').pop()!;
  if (name === 'hold') return 'held';
  if (name === 'reset') return 'reset';
  respond(200, {
    ...secret,
    metadata: { name, namespace: 'ns' },
    ...(name.startsWith('big-') && {
      data: { pad: 'x'.repeat(BIG_ANSWER_BYTES) },
    }),
  });
  return 'answered';
}

async function http2Server() {
  const sessions: http2.ServerHttp2Session[] = [];
  const seen: Seen[] = [];
  const held: http2.ServerHttp2Stream[] = [];
  const server = http2.createSecureServer({
    cert: pki.certPem,
    key: pki.keyPem,
  });
  server.on('session', s => sessions.push(s));
  server.on('stream', (stream, headers) => {
    const p = String(headers[':path']);
    seen.push({ path: p, authorization: headers.authorization });
    const outcome = answer(p, (status, body) => {
      stream.respond({ ':status': status, 'content-type': 'application/json' });
      stream.end(JSON.stringify(body));
    });
    if (outcome === 'held') held.push(stream);
    if (outcome === 'reset') stream.session?.socket.destroy();
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    sessions,
    seen,
    held,
    close: () => {
      sessions.forEach(s => s.destroy());
      server.close();
    },
  };
}

async function http1Server() {
  const seen: Seen[] = [];
  const server = https.createServer(
    { cert: pki.certPem, key: pki.keyPem },
    (req, res) => {
      seen.push({ path: req.url!, authorization: req.headers.authorization });
      answer(req.url!, (status, body) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
    },
  );
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** A TCP relay to `port` whose connections so far can be made silent (a dead peer, a dropped NAT entry). */
async function relay(port: number) {
  const relayed: { silent: boolean; sockets: net.Socket[] }[] = [];
  const server = net.createServer(client => {
    const upstream = net.connect(port, '127.0.0.1');
    const link = { silent: false, sockets: [client, upstream] };
    relayed.push(link);
    client.on('data', d => !link.silent && upstream.write(d));
    upstream.on('data', d => !link.silent && client.write(d));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    silenceAll: () => relayed.forEach(l => (l.silent = true)),
    close: () => {
      relayed.forEach(l => l.sockets.forEach(s => s.destroy()));
      server.close();
    },
  };
}

async function kubeConfig(
  port: number,
  user: string,
  serverPath = '',
): Promise<KubeConfig> {
  const k8s = await clientNode();
  const kc = new k8s.KubeConfig();
  kc.loadFromString(
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: c',
      `  cluster: {server: 'https://127.0.0.1:${port}${serverPath}', certificate-authority-data: ${Buffer.from(pki.caPem).toString('base64')}}`,
      'users:',
      `- name: u`,
      `  user: ${user}`,
      'contexts:',
      '- name: c',
      '  context: {cluster: c, user: u}',
      'current-context: c',
      '',
    ].join('\n'),
  );
  return kc;
}

/** Runs `test` against a fresh stand-in HTTP/2 apiserver, with a KubeConfig holding a token for it. */
async function onHttp2Server(
  test: (
    server: Awaited<ReturnType<typeof http2Server>>,
    kc: KubeConfig,
  ) => Promise<void>,
) {
  const server = await http2Server();
  try {
    await test(server, await kubeConfig(server.port, '{token: t0k3n}'));
  } finally {
    server.close();
  }
}

const read = (kc: KubeConfig, name: string, signal?: AbortSignal) =>
  clusterClient(kc).read({ ...secret, name }, { signal });

describe('the HTTP/2 transport', () => {
  it("sends concurrent calls on one connection with the kubeconfig's token", async () => {
    await onHttp2Server(async (server, kc) => {
      const names = Array.from({ length: 20 }, (_, i) => `s${i}`);
      const answers = await Promise.all(names.map(n => read(kc, n)));
      expect(answers.map(a => a?.metadata?.name)).toEqual(names);
      expect(server.sessions).toHaveLength(1);
      expect(new Set(server.seen.map(s => s.authorization))).toEqual(
        new Set(['Bearer t0k3n']),
      );
    });
  });

  it("puts the server URL's path (a proxy's) in front of every request's, with its query", async () => {
    const server = await http2Server();
    try {
      const kc = await kubeConfig(
        server.port,
        '{token: t0k3n}',
        '/k8s/clusters/c-1/',
      );
      await read(kc, 'a');
      // The stand-in answers a list with one Secret, which is no list: only its path matters here.
      await clusterClient(kc)
        .list(
          { apiVersion: 'v1', kind: 'Secret', namespace: 'ns' },
          'app in (a,b)',
        )
        .catch(() => undefined);
      expect(server.seen.map(s => s.path)).toEqual([
        '/k8s/clusters/c-1/api/v1/namespaces/ns/secrets/a',
        '/k8s/clusters/c-1/api/v1/namespaces/ns/secrets?labelSelector=app+in+%28a%2Cb%29',
      ]);
    } finally {
      server.close();
    }
  });

  it("asks an exec plugin's credentials again once they expire", async () => {
    const server = await http2Server();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exec-'));
    try {
      // Each call of the plugin gives the next token, already expired.
      const script = path.join(dir, 'token.sh');
      fs.writeFileSync(
        script,
        [
          `n=$(($(cat ${dir}/n 2>/dev/null || echo 0) + 1)); echo $n > ${dir}/n`,
          `printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"exec-%s","expirationTimestamp":"2000-01-01T00:00:00Z"}}' $n`,
        ].join('\n'),
      );
      const kc = await kubeConfig(
        server.port,
        `{exec: {apiVersion: client.authentication.k8s.io/v1, command: sh, args: [${script}], interactiveMode: Never}}`,
      );
      await read(kc, 'a');
      await read(kc, 'b');
      const tokens = server.seen.map(s => s.authorization);
      expect(tokens).toEqual([
        expect.stringMatching(/^Bearer exec-\d+$/),
        expect.stringMatching(/^Bearer exec-\d+$/),
      ]);
      expect(tokens[1]).not.toBe(tokens[0]);
    } finally {
      server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reaches an apiserver that speaks only HTTP/1.1', async () => {
    const server = await http1Server();
    try {
      const kc = await kubeConfig(server.port, '{token: t0k3n}');
      const answers = await Promise.all(['a', 'b'].map(n => read(kc, n)));
      expect(answers.map(a => a?.metadata?.name)).toEqual(['a', 'b']);
      expect(server.seen.map(s => s.authorization)).toEqual([
        'Bearer t0k3n',
        'Bearer t0k3n',
      ]);
    } finally {
      server.close();
    }
  });

  it('opens a new connection after the server ended the last one (GOAWAY)', async () => {
    await onHttp2Server(async (server, kc) => {
      await read(kc, 'a');
      await new Promise<void>(r => server.sessions[0].close(r));
      expect((await read(kc, 'b'))?.metadata?.name).toBe('b');
      expect(server.sessions).toHaveLength(2);
    });
  });

  it('fails a call whose connection is reset as unreachable, and the next call connects again', async () => {
    await onHttp2Server(async (server, kc) => {
      const failed = await read(kc, 'reset').then(
        () => undefined,
        e => describeKubeError(e, 'reading Secret ns/reset'),
      );
      expect(failed?.message).toMatch(
        /^reading Secret ns\/reset: the cluster is unreachable \(ECONNRESET\); check the cluster url and that it is up$/,
      );
      expect((await read(kc, 'after'))?.metadata?.name).toBe('after');
      expect(server.sessions).toHaveLength(2);
    });
  });

  it("cancels a call's stream when its signal aborts, and rejects with the signal's reason", async () => {
    await onHttp2Server(async (server, kc) => {
      const controller = new AbortController();
      const call = read(kc, 'hold', controller.signal);
      const outcome = call.then(
        () => 'answered',
        (e: Error) => e.message,
      );
      while (!server.held.length) await new Promise(r => setTimeout(r, 10));
      const closedOnServer = new Promise(r => server.held[0].on('close', r));
      controller.abort(new Error('the task was cancelled'));
      expect(await outcome).toBe('the task was cancelled');
      await closedOnServer;
      expect(server.held[0].rstCode).toBe(http2.constants.NGHTTP2_CANCEL);
      // The connection stays usable.
      expect((await read(kc, 'next'))?.metadata?.name).toBe('next');
      expect(server.sessions).toHaveLength(1);
    });
  });

  it('stops using a connection that went silent once a call on it timed out', async () => {
    const server = await http2Server();
    const proxy = await relay(server.port);
    try {
      const kc = await kubeConfig(proxy.port, '{token: t0k3n}');
      await read(kc, 'a');
      proxy.silenceAll();
      await expect(
        read(kc, 'lost', AbortSignal.timeout(200)),
      ).rejects.toMatchObject({ name: 'TimeoutError' });
      // The timeout sent a PING that is never answered: the connection is dropped, and a later
      // call gets a new one (calls meanwhile still wait on the silent one, bounded as ever).
      let answered: string | undefined;
      while (!answered)
        answered = await read(kc, 'b', AbortSignal.timeout(1000)).then(
          o => o?.metadata?.name,
          () => undefined,
        );
      expect(answered).toBe('b');
      expect(server.sessions).toHaveLength(2);
    } finally {
      proxy.close();
      server.close();
    }
  }, 30_000);

  it('hands out an unchanged shared answer parsed once, and keeps at most MAX_SHARED_ANSWER_BYTES of them', async () => {
    await onHttp2Server(async (_server, kc) => {
      const get = (name: string) =>
        kubeRequest<{ metadata: { name: string } }>(kc, {
          method: 'GET',
          path: `/api/v1/namespaces/ns/configmaps/${name}`,
          shared: true,
        });
      const first = await get('big-0');
      expect(await get('big-0')).toBe(first);
      expect(Object.isFrozen(first)).toBe(true);
      // One answer more than the bound holds: the oldest is dropped, and parsed anew when asked.
      const fit = Math.floor(MAX_SHARED_ANSWER_BYTES / BIG_ANSWER_BYTES);
      const names = Array.from({ length: fit }, (_, i) => `big-${i + 1}`);
      for (const name of names) await get(name);
      const newest = await get(names[names.length - 1]);
      expect(await get(names[names.length - 1])).toBe(newest);
      const again = await get('big-0');
      expect(again).not.toBe(first);
      expect(again).toEqual(first);
    });
  });
});
