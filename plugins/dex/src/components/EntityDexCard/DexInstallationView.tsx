import { type ReactNode } from 'react';
import {
  CopyTextButton,
  Link,
  StatusError,
  StatusOK,
  StatusPending,
  StatusWarning,
  StructuredMetadataTable,
} from '@backstage/core-components';
import { Badge, Box, Flex, Text } from '@backstage/ui';
import { PlainList } from '../PlainList';
import type {
  CertificateStatus,
  ComponentStatus,
  DexInstallation,
  Endpoint,
  IngressStatus,
  KubeadmControlPlaneStatus,
} from '@backstage-dex/plugin-dex-common';

/** Certificates closer than this to expiry are flagged. */
export const CERTIFICATE_WARNING_DAYS = 30;

const COMPONENT_TITLES: Record<ComponentStatus['name'], string> = {
  dex: 'Dex',
  'dex-k8s-authenticator': 'Authenticator (dex-k8s-authenticator)',
};

const ENDPOINT_KINDS: Record<Endpoint['kind'], string> = {
  ingress: 'Ingress',
  loadBalancer: 'LoadBalancer',
  nodePort: 'NodePort',
  clusterIP: 'ClusterIP',
};

function Heading({ level, children }: { level: 3 | 4; children: ReactNode }) {
  return (
    <Box mt="4" mb="2">
      <Text
        as={level === 3 ? 'h3' : 'h4'}
        variant={level === 3 ? 'title-x-small' : 'body-medium'}
        weight="bold"
      >
        {children}
      </Text>
    </Box>
  );
}

function EndpointList({ endpoints }: { endpoints: Endpoint[] }) {
  if (endpoints.length === 0) {
    return <span>none</span>;
  }
  return (
    <PlainList>
      {endpoints.map(endpoint => (
        <li key={`${endpoint.kind}:${endpoint.url}`}>
          <Link to={endpoint.url}>{endpoint.url}</Link>{' '}
          <span>({ENDPOINT_KINDS[endpoint.kind] ?? endpoint.kind})</span>
          {!endpoint.ready && (
            <>
              {' '}
              <StatusPending>pending</StatusPending>
            </>
          )}
        </li>
      ))}
    </PlainList>
  );
}

function IngressView({ ingress }: { ingress: IngressStatus }) {
  const addresses =
    ingress.state === 'ready' && ingress.addresses.length > 0
      ? ingress.addresses.join(', ')
      : undefined;
  return (
    <PlainList>
      <li>
        Ingress {ingress.name}{' '}
        {ingress.state === 'ready' ? (
          <StatusOK>ready</StatusOK>
        ) : (
          <StatusPending>pending</StatusPending>
        )}
      </li>
      <li>Class: {ingress.className ?? 'default'}</li>
      <li>Hosts: {ingress.hosts.length ? ingress.hosts.join(', ') : 'none'}</li>
      <li>TLS: {ingress.tls ? 'yes' : 'no'}</li>
      <li>Addresses: {addresses ?? 'pending'}</li>
    </PlainList>
  );
}

function Readiness({ component }: { component: ComponentStatus }) {
  const { ready, desired } = component.replicas;
  const text = `${ready}/${desired} ready (${component.health})`;
  switch (component.health) {
    case 'healthy':
      return <StatusOK>{text}</StatusOK>;
    case 'progressing':
      return <StatusWarning>{text}</StatusWarning>;
    default:
      return <StatusError>{text}</StatusError>;
  }
}

function VersionView({ component }: { component: ComponentStatus }) {
  return (
    <span>
      {component.version ?? 'unknown'}
      {component.updateAvailable && (
        <Badge size="small">
          update available
          {component.defaultVersion ? ` (${component.defaultVersion})` : ''}
        </Badge>
      )}
    </span>
  );
}

function ComponentView({ component }: { component: ComponentStatus }) {
  const metadata: Record<string, ReactNode> = {
    Version: <VersionView component={component} />,
    Readiness: <Readiness component={component} />,
    Endpoints: <EndpointList endpoints={component.endpoints} />,
  };
  if (component.serviceType) {
    metadata.Service = <span>{component.serviceType}</span>;
  }
  if (component.ingress) {
    metadata.Ingress = <IngressView ingress={component.ingress} />;
  }
  return (
    <section aria-label={COMPONENT_TITLES[component.name] ?? component.name}>
      <Heading level={4}>
        {COMPONENT_TITLES[component.name] ?? component.name}
      </Heading>
      <StructuredMetadataTable
        metadata={metadata}
        options={{ titleFormat: key => key }}
      />
    </section>
  );
}

/** "expires in 12 days", "expires today", "expired 3 days ago". */
function expiryText(daysLeft: number): string {
  if (daysLeft < 0) {
    const ago = -daysLeft;
    return `expired ${ago} day${ago === 1 ? '' : 's'} ago`;
  }
  if (daysLeft === 0) {
    return 'expires today';
  }
  return `expires in ${daysLeft} day${daysLeft === 1 ? '' : 's'}`;
}

function CertificateExpiry({
  certificate,
}: {
  certificate: CertificateStatus;
}) {
  const text = `${certificate.name}: ${expiryText(certificate.daysLeft)} (${
    certificate.notAfter
  })`;
  if (certificate.daysLeft < 0) {
    return <StatusError>{text}</StatusError>;
  }
  if (certificate.daysLeft < CERTIFICATE_WARNING_DAYS) {
    return <StatusWarning>{text}</StatusWarning>;
  }
  return <StatusOK>{text}</StatusOK>;
}

function CodeBlock({ label, text }: { label: string; text: string }) {
  return (
    <Flex align="start" gap="1">
      <Box as="pre" m="0" p="2" bg="neutral" grow style={{ overflowX: 'auto' }}>
        <code>{text}</code>
      </Box>
      <CopyTextButton text={text} aria-label={`Copy ${label}`} />
    </Flex>
  );
}

/** Where the kube-apiserver settings went in clusterApi mode, and how far its rollout is. */
function KubeadmControlPlaneView({ kcp }: { kcp: KubeadmControlPlaneStatus }) {
  const target = `KubeadmControlPlane ${kcp.namespace}/${kcp.name}`;
  const where = `on cluster ${kcp.managementCluster}`;
  if (kcp.error) {
    return (
      <StatusWarning>
        Applied to {target} {where}; rollout unknown: {kcp.error}
      </StatusWarning>
    );
  }
  if (!kcp.applied) {
    return (
      <StatusError>
        Not applied: {target} {where} does not carry this installation's
        settings (changed by someone else); run the template again
      </StatusError>
    );
  }
  const rollout = kcp.rollout;
  const text = `Applied to ${target} ${where} — rollout ${rollout?.updated ?? 0}/${
    rollout?.replicas ?? 0
  } updated`;
  if (!rollout?.observedLatestSpec) {
    return (
      <StatusPending>{`${text} (waiting for Cluster API to see the change)`}</StatusPending>
    );
  }
  return rollout.updated >= rollout.replicas ? (
    <StatusOK>{text}</StatusOK>
  ) : (
    <StatusPending>{text}</StatusPending>
  );
}

/** One Dex installation: where it is, its components, certificates and API-server settings. */
export function DexInstallationView({
  installation,
}: {
  installation: DexInstallation;
}) {
  const { cluster, namespace, instance } = installation;
  const components = [installation.dex, installation.authenticator].filter(
    (c): c is ComponentStatus => Boolean(c),
  );
  const apiServer = installation.apiServer;
  return (
    <Box
      as="section"
      mb="6"
      aria-label={`Dex ${instance} in ${cluster}/${namespace}`}
    >
      <Heading level={3}>
        Cluster {cluster} · namespace {namespace} · instance {instance}
      </Heading>
      {installation.issuerUrl && (
        <div>
          Issuer:{' '}
          {/* The issuer URL itself answers 404; its discovery document is what there is to see. */}
          <Link
            to={`${installation.issuerUrl.replace(/\/$/, '')}/.well-known/openid-configuration`}
          >
            {installation.issuerUrl}
          </Link>
        </div>
      )}
      {components.map(component => (
        <ComponentView key={component.name} component={component} />
      ))}
      {installation.certificates.length > 0 && (
        <section aria-label="Certificates">
          <Heading level={4}>Certificates</Heading>
          <PlainList>
            {installation.certificates.map(certificate => (
              <li key={certificate.name} title={certificate.subject}>
                <CertificateExpiry certificate={certificate} />
              </li>
            ))}
          </PlainList>
        </section>
      )}
      {apiServer && (
        <section aria-label="API-server settings">
          <Heading level={4}>API server</Heading>
          {installation.kubeadmControlPlane ? (
            <KubeadmControlPlaneView kcp={installation.kubeadmControlPlane} />
          ) : (
            <div>To do by hand: give the kube-apiserver these flags</div>
          )}
          <CodeBlock
            label="API-server flags"
            text={apiServer.flags.join('\n')}
          />
          {apiServer.authenticationConfiguration && (
            <details>
              <summary>AuthenticationConfiguration</summary>
              <CodeBlock
                label="AuthenticationConfiguration"
                text={apiServer.authenticationConfiguration}
              />
            </details>
          )}
        </section>
      )}
    </Box>
  );
}
