import { CertificateRow, ProvisionRow, summarizeProvision } from './provision';

export interface StatusBenchResult {
  markdown: string;
}

export interface BenchReport {
  command: string;
  cores: number;
  kubernetes: string;
  provision: ProvisionRow[];
  provisionSummary: ReturnType<typeof summarizeProvision>;
  certificatesMedianMs: number;
  certificates: CertificateRow[];
  status?: StatusBenchResult;
}

const f = (n: number, d = 0) => n.toFixed(d);
const goal = (ok: boolean) => (ok ? 'met' : '**not met**');

/** The results as the Markdown committed to docs/benchmarks.md. */
export function report(r: BenchReport): string {
  const s = r.provisionSummary;
  return [
    '# Benchmarks',
    '',
    `Made by \`${r.command}\` on a machine with ${r.cores} cores, against the embedded local cluster`,
    `(etcd + kube-apiserver ${r.kubernetes} built from Go modules, on loopback). Medians over ${r.provision.length} runs in one process run;`,
    'ratios are ours / peer measured in the same run (lower is better).',
    '',
    '## Provision and re-run, against kubectl',
    '',
    'Ours: certificates + render + server-side apply of the full pack (Dex + authenticator + Ingress, both',
    `${r.provision[0]?.objects ?? '?'} objects) by \`provisionPack\`. Peer: \`kubectl apply --server-side\` of the same rendered manifests`,
    '(kubectl from the same Kubernetes release) into another fresh namespace. Re-run: both again with nothing to change.',
    '',
    '"ours" uses the key pool the scaffolder module keeps (3 RSA keys generated in the background, refilled after',
    'each use); "no pool" generates the keys inside the call (a backend\'s first run, or back-to-back runs).',
    '',
    '| run | ours ms | no pool ms | kubectl ms | ratio | no-pool ratio | re-run ours ms | re-run kubectl ms | re-run ratio | re-run writes |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...r.provision.map(
      p => `| ${p.run} | ${f(p.oursMs)} | ${f(p.oursNoPoolMs)} | ${f(p.kubectlMs)} | ${f(p.ratio, 2)} | ${f(p.oursNoPoolMs / p.kubectlMs, 2)} | ${f(p.rerunOursMs)} | ${f(p.rerunKubectlMs)} | ${f(p.rerunRatio, 2)} | ${p.rerunWrites} |`,
    ),
    `| **median** | ${f(s.oursMs)} | ${f(s.oursNoPoolMs)} | ${f(s.kubectlMs)} | **${f(s.ratio, 2)}** | ${f(s.noPoolRatio, 2)} | ${f(s.rerunOursMs)} | ${f(s.rerunKubectlMs)} | **${f(s.rerunRatio, 2)}** | max ${s.maxRerunWrites} |`,
    '',
    `- Provision ratio ≤ 0.5: ${goal(s.ratio <= 0.5)} (${f(s.ratio, 2)} with the key pool; ${f(s.noPoolRatio, 2)} without: RSA key generation is most of our own time).`,
    `- Re-run ratio ≤ 0.5 with zero writes: ${goal(s.rerunRatio <= 0.5 && s.maxRerunWrites === 0)} (${f(s.rerunRatio, 2)}, ${s.maxRerunWrites} writes).`,
    '',
    '## Certificates',
    '',
    `CA + Dex and authenticator serving certificates, RSA 2048 (built by node-forge; keys generated and signatures made by Node's native crypto): median ${f(r.certificatesMedianMs, 1)} ms`,
    `over ${r.certificates.length} runs. Goal < 300 ms: ${goal(r.certificatesMedianMs < 300)}. (RSA 2048 is the only key type offered: node-forge builds certificates for RSA keys only.)`,
    '',
    r.status?.markdown ?? '## Status\n\nNot measured in this run.',
    '',
  ].join('\n');
}
