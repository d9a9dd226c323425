import { ImageConfig } from './image';
import { KubeObject, planPod, PodSource } from './spec';

const image = (name: string): ImageConfig => ({
  image: name,
  entrypoint: ['/bin/app'],
  cmd: [],
  workingDir: '/',
  uid: 1001,
  gid: 1001,
  env: {},
  files: {},
  dirs: {},
});

/** A Pod as the apiserver returns it after the ServiceAccount admission added kube-api-access. */
const pod: PodSource = {
  metadata: {
    name: 'web-7d9f-abcde',
    namespace: 'team-a',
    uid: '3f1c2a4e-0000-4000-8000-000000000001',
    labels: { app: 'web' },
  },
  spec: {
    serviceAccountName: 'web',
    containers: [
      {
        name: 'web',
        image: 'example/web:1',
        env: [
          {
            name: 'POD_IP',
            valueFrom: { fieldRef: { fieldPath: 'status.podIP' } },
          },
          {
            name: 'NODE',
            valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } },
          },
          {
            name: 'UID',
            valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } },
          },
        ],
        livenessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 2 },
        volumeMounts: [
          {
            name: 'kube-api-access-x1',
            mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
            readOnly: true,
          },
        ],
      },
    ],
    volumes: [
      {
        name: 'kube-api-access-x1',
        projected: {
          defaultMode: 420,
          sources: [
            { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
            {
              configMap: {
                name: 'kube-root-ca.crt',
                items: [{ key: 'ca.crt', path: 'ca.crt' }],
              },
            },
            {
              downwardAPI: {
                items: [
                  {
                    path: 'namespace',
                    fieldRef: {
                      apiVersion: 'v1',
                      fieldPath: 'metadata.namespace',
                    },
                  },
                ],
              },
            },
          ],
        },
      },
    ],
  },
};

const rootCa: KubeObject = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'kube-root-ca.crt', namespace: 'team-a' },
  data: { 'ca.crt': 'CA PEM' },
};

describe('planPod for a Pod from the apiserver', () => {
  const apiServer = { port: 6443, caPem: 'CA PEM', token: 'bound-token' };
  /** The Pod as the node runs it once the scheduler bound it to local-node. */
  const planBoundPod = () =>
    planPod({
      objects: [rootCa],
      pod,
      image,
      apiServer,
      placement: { podIP: '10.244.1.2', nodeName: 'local-node' },
    });

  it('fills the projected kube-api-access volume: the given token, kube-root-ca.crt, the namespace', () => {
    const { plan } = planBoundPod();
    const mount = plan.mounts.find(
      m => m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount',
    );
    expect(mount?.kind).toBe('files');
    const files = mount?.kind === 'files' ? mount.files : [];
    expect(
      files.map(f => [f.path, f.content.toString(), f.mode.toString(8)]),
    ).toEqual([
      ['token', 'bound-token', '644'],
      ['ca.crt', 'CA PEM', '644'],
      ['namespace', 'team-a', '644'],
    ]);
    // Only the admission's volume: none added on top at the same path.
    expect(plan.mounts).toHaveLength(1);
  });

  it('resolves fieldRefs from the Pod and its placement, and reads the liveness probe', () => {
    const { plan } = planBoundPod();
    const env = new Map(plan.env);
    expect(env.get('POD_IP')).toBe('10.244.1.2');
    expect(env.get('NODE')).toBe('local-node');
    expect(env.get('UID')).toBe(pod.metadata.uid);
    expect(env.get('HOSTNAME')).toBe('web-7d9f-abcde');
    expect(plan.podName).toBe('web-7d9f-abcde');
    expect(plan.livenessProbe).toMatchObject({
      tcpSocket: { port: 8080 },
      periodSeconds: 2,
      failureThreshold: 3,
      initialDelaySeconds: 0,
    });
  });

  it('fails like the kubelet when kube-root-ca.crt is missing', () => {
    expect(() => planPod({ objects: [], pod, image, apiServer })).toThrow(
      'pod team-a/web-7d9f-abcde container web: MountVolume.SetUp failed for volume "kube-api-access-x1" : configmap "kube-root-ca.crt" not found',
    );
  });

  it('refuses a projected token without in-cluster access to give it', () => {
    expect(() => planPod({ objects: [rootCa], pod, image })).toThrow(
      /projects a service account token, which needs the apiServer option/,
    );
  });
});
