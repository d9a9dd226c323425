import type { KubernetesObject } from '@kubernetes/client-node';
import { PackSpecInput, withDefaults } from '@backstage-dex/plugin-dex-common';
import { memoryCluster } from './__testUtils__/memoryCluster';
import { certificateInfo } from './pack/certificates';
import { provisionPack } from './provision';

// Unit tests of the LoadBalancer step of a provision, against the in-memory cluster; the test
// plays the cloud's controller by writing the Service's status.loadBalancer.ingress.

type Ingress = { ip?: string; hostname?: string };

const spec = (extra: Partial<PackSpecInput> = {}) =>
  withDefaults({
    cluster: 'local',
    namespace: 'team-b',
    dex: { exposure: { serviceType: 'LoadBalancer' } },
    authenticator: { exposure: { serviceType: 'LoadBalancer' } },
    ...extra,
  });

function cloud(memory: ReturnType<typeof memoryCluster>) {
  const key = (name: string) => `Service/team-b/${name}`;
  return {
    assign(name: string, ingress: Ingress[]) {
      const service = memory.objects.get(key(name));
      if (!service) throw new Error(`no Service ${name} yet`);
      memory.objects.set(key(name), {
        ...service,
        status: { loadBalancer: { ingress } },
      } as KubernetesObject);
    },
  };
}

function secret(memory: ReturnType<typeof memoryCluster>, name: string) {
  const s = memory.objects.get(`Secret/team-b/${name}`) as
    | { data?: Record<string, string>; metadata?: { resourceVersion?: string } }
    | undefined;
  const decode = (k: string) =>
    Buffer.from(s?.data?.[k] ?? '', 'base64').toString('utf8');
  return { decode, resourceVersion: s?.metadata?.resourceVersion };
}

function recordedSpec(memory: ReturnType<typeof memoryCluster>) {
  const cm = memory.objects.get('ConfigMap/team-b/dex-apiserver-settings') as
    { data?: Record<string, string> } | undefined;
  return JSON.parse(cm?.data?.['spec.json'] ?? 'null');
}

/** A provision whose log answers "waiting for ... of team-b/<name>" by assigning that Service an address. */
function provisionAssigning(
  memory: ReturnType<typeof memoryCluster>,
  addresses: Record<string, Ingress[]>,
  options: Parameters<typeof provisionPack>[2] = {},
) {
  const lines: string[] = [];
  const assigned = new Set<string>();
  const run = provisionPack(memory.client, spec(), {
    loadBalancer: { timeoutMs: 60_000, pollMs: 1, progressMs: 0 },
    ...options,
    log: line => {
      lines.push(line);
      const waiting =
        /^waiting for LoadBalancer address of team-b\/(\S+) \(\d+ s\)$/.exec(
          line,
        );
      if (waiting && !assigned.has(waiting[1]) && addresses[waiting[1]]) {
        assigned.add(waiting[1]);
        cloud(memory).assign(waiting[1], addresses[waiting[1]]);
      }
    },
  });
  return { run, lines };
}

describe('a pack exposed by LoadBalancers with no URL given', () => {
  it('applies the Services first, waits for their addresses and derives the URLs, redirect URI and certificate names from them', async () => {
    const memory = memoryCluster();
    const { run, lines } = provisionAssigning(memory, {
      dex: [{ ip: '203.0.113.10' }],
      'dex-authenticator': [{ hostname: 'Login.LB.example.net' }],
    });
    const result = await run;

    expect(result.issuerUrl).toBe('https://203.0.113.10:5556/dex');
    expect(result.authenticatorUrl).toBe('https://login.lb.example.net:5555');
    expect(result.apiServer.flags).toContain(
      '--oidc-issuer-url=https://203.0.113.10:5556/dex',
    );
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^waiting for LoadBalancer address of team-b\/dex \(\d+ s\)$/,
        ),
        'LoadBalancer address of team-b/dex: 203.0.113.10',
        'LoadBalancer address of team-b/dex-authenticator: login.lb.example.net',
      ]),
    );
    // Dex's config names the authenticator's callback at its LoadBalancer address.
    const dexConfig = secret(memory, 'dex-config').decode('config.yaml');
    expect(dexConfig).toContain(
      'https://login.lb.example.net:5555/callback/local',
    );
    expect(dexConfig).toContain('issuer: https://203.0.113.10:5556/dex');
    expect(
      certificateInfo(secret(memory, 'dex-tls').decode('tls.crt')).ipAddresses,
    ).toContain('203.0.113.10');
    expect(
      certificateInfo(secret(memory, 'dex-authenticator-tls').decode('tls.crt'))
        .dnsNames,
    ).toContain('login.lb.example.net');
    // The recorded spec (the card's "Upgrade") keeps what was asked for: URLs to derive again.
    const recorded = recordedSpec(memory);
    expect(recorded.dex.issuerUrl).toBeUndefined();
    expect(recorded.authenticator.url).toBeUndefined();
    expect(recorded.dex.exposure.serviceType).toBe('LoadBalancer');
    // The Services written before the rest count as created in the run's result.
    const actions = Object.fromEntries(
      result.apply.objects.map(o => [`${o.kind}/${o.name}`, o.action]),
    );
    expect(actions['Service/dex']).toBe('create');
    expect(actions['Service/dex-authenticator']).toBe('create');
    expect(actions['Namespace/team-b']).toBe('create');
  });

  it('keeps the URLs and certificates on a re-run while the address stays, and re-issues only the serving certificate when it changes', async () => {
    const memory = memoryCluster();
    await provisionAssigning(memory, {
      dex: [{ ip: '203.0.113.10' }],
      'dex-authenticator': [{ ip: '203.0.113.11' }],
    }).run;
    const tls = secret(memory, 'dex-tls').resourceVersion;
    const ca = secret(memory, 'dex-ca').resourceVersion;

    const lines: string[] = [];
    const again = await provisionPack(memory.client, spec(), {
      log: l => lines.push(l),
    });
    expect(again.issuerUrl).toBe('https://203.0.113.10:5556/dex');
    expect(again.apply.writes).toBe(0);
    expect(new Set(again.apply.objects.map(o => o.action))).toEqual(
      new Set(['unchanged']),
    );
    expect(lines.filter(l => l.startsWith('waiting for'))).toEqual([]);

    cloud(memory).assign('dex', [{ ip: '198.51.100.7' }]);
    const moved = await provisionPack(memory.client, spec());
    expect(moved.issuerUrl).toBe('https://198.51.100.7:5556/dex');
    expect(moved.generated).toEqual(['Dex serving certificate (dex-tls)']);
    expect(secret(memory, 'dex-ca').resourceVersion).toBe(ca);
    expect(secret(memory, 'dex-tls').resourceVersion).not.toBe(tls);
    expect(
      certificateInfo(secret(memory, 'dex-tls').decode('tls.crt')).ipAddresses,
    ).toEqual(['198.51.100.7']);
  });

  it('fails after the timeout naming the Service and what to do, having written only the namespace and the Services', async () => {
    const memory = memoryCluster();
    await expect(
      provisionPack(memory.client, spec(), {
        loadBalancer: { timeoutMs: 30, pollMs: 5 },
      }),
    ).rejects.toThrow(
      /Service team-b\/(dex|dex-authenticator) got no LoadBalancer address within 0 s .*give the URL yourself \(dex\.issuerUrl, authenticator\.url\).*through an Ingress.*LoadBalancer controller/,
    );
    expect(memory.writes.filter(w => !w.dryRun).map(w => w.key)).toEqual(
      expect.arrayContaining([
        'Namespace//team-b',
        'Service/team-b/dex',
        'Service/team-b/dex-authenticator',
      ]),
    );
    expect(memory.writes).toHaveLength(3);
  });

  it('stops waiting when the run is cancelled', async () => {
    const memory = memoryCluster();
    const abort = new AbortController();
    await expect(
      provisionPack(memory.client, spec(), {
        signal: abort.signal,
        loadBalancer: { timeoutMs: 600_000, pollMs: 10_000, progressMs: 0 },
        log: l => l.startsWith('waiting for') && abort.abort(),
      }),
    ).rejects.toThrow(/abort/i);
    expect([...memory.objects.keys()].some(k => k.startsWith('Secret/'))).toBe(
      false,
    );
  });

  it.each([
    [[{ hostname: 'bad_host.example.com' }], /is not a DNS name/],
    [[{ ip: '300.1.2.3' }], /is not an IP address/],
    [
      [{ ip: '2001:db8::10' }],
      /IPv6 address 2001:db8::10.*give dex\.issuerUrl/,
    ],
    [[{ ip: '' }, { ip: 'x' }], /"x", which is not an IP address/],
  ])(
    'refuses a LoadBalancer address %j that cannot be part of a URL, writing no secret',
    async (ingress, message) => {
      const memory = memoryCluster();
      await expect(
        provisionAssigning(memory, {
          dex: ingress,
          'dex-authenticator': [{ ip: '203.0.113.11' }],
        }).run,
      ).rejects.toThrow(message);
      expect(
        [...memory.objects.keys()].filter(k => k.startsWith('Secret/')),
      ).toEqual([]);
    },
  );

  it('prefers the hostname where the cloud gives both', async () => {
    const memory = memoryCluster();
    const result = await provisionAssigning(memory, {
      dex: [{ ip: '203.0.113.10', hostname: 'dex.lb.example.net' }],
      'dex-authenticator': [{ ip: '203.0.113.11' }],
    }).run;
    expect(result.issuerUrl).toBe('https://dex.lb.example.net:5556/dex');
  });

  it('refuses an object of someone else before any Service is written', async () => {
    const memory = memoryCluster([
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'dex', namespace: 'team-b' },
      },
    ]);
    await expect(
      provisionPack(memory.client, spec(), {
        loadBalancer: { timeoutMs: 60_000, pollMs: 1 },
      }),
    ).rejects.toThrow(
      /do not belong to this installation.*Deployment\/team-b\/dex/,
    );
    expect(memory.writes).toEqual([]);
  });

  it('a dry run writes nothing and reports the Services still without an address', async () => {
    const memory = memoryCluster();
    const dry = await provisionPack(memory.client, spec(), { dryRun: true });
    expect(dry.pendingLoadBalancers.sort()).toEqual([
      'team-b/dex',
      'team-b/dex-authenticator',
    ]);
    expect(memory.writes.filter(w => !w.dryRun)).toEqual([]);

    // Once assigned, a dry run derives the URLs from the address without waiting.
    await provisionAssigning(memory, {
      dex: [{ ip: '203.0.113.10' }],
      'dex-authenticator': [{ ip: '203.0.113.11' }],
    }).run;
    const planned = await provisionPack(memory.client, spec(), {
      dryRun: true,
    });
    expect(planned.pendingLoadBalancers).toEqual([]);
    expect(planned.issuerUrl).toBe('https://203.0.113.10:5556/dex');
    expect(new Set(planned.apply.objects.map(o => o.action))).toEqual(
      new Set(['unchanged']),
    );
  });

  it('does not wait when the URL or an Ingress host is given', async () => {
    const memory = memoryCluster();
    const result = await provisionPack(
      memory.client,
      spec({
        dex: {
          issuerUrl: 'https://dex.example.com',
          exposure: { serviceType: 'LoadBalancer' },
        },
        authenticator: {
          exposure: {
            serviceType: 'LoadBalancer',
            ingress: { enabled: true, hosts: ['login.example.com'] },
          },
        },
      }),
      { loadBalancer: { timeoutMs: 1 } },
    );
    expect(result.issuerUrl).toBe('https://dex.example.com');
    expect(result.authenticatorUrl).toBe('https://login.example.com');
    expect(recordedSpec(memory).dex.issuerUrl).toBe('https://dex.example.com');
  });
});
