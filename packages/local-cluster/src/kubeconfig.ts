/** A kubeconfig (YAML) for one bearer-token user of one cluster. */
export function kubeconfigYaml(
  server: string,
  caPem: string,
  token: string,
  user = 'admin',
): string {
  const ca = Buffer.from(caPem).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: local',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${ca}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: local',
    `  context: {cluster: local, user: ${user}}`,
    'current-context: local',
    '',
  ].join('\n');
}
