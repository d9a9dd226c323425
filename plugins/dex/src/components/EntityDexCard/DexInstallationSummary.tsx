import {
  StatusError,
  StatusOK,
  StatusPending,
  StatusWarning,
} from '@backstage/core-components';
import {
  Accordion,
  AccordionPanel,
  AccordionTrigger,
  Box,
  ButtonLink,
  Flex,
  Text,
} from '@backstage/ui';
import {
  installationKey,
  type ComponentStatus,
  type DexInstallation,
} from '@backstage-dex/plugin-dex-common';
import { DownloadKubeconfigButton } from './DownloadKubeconfigButton';
import { DexInstallationView } from './DexInstallationView';
import { addDexAuthLink, upgradeFormData } from './templateLink';

type Health = ComponentStatus['health'];
const HEALTH_ORDER: Health[] = [
  'missing',
  'unhealthy',
  'progressing',
  'healthy',
];

function componentsOf(installation: DexInstallation): ComponentStatus[] {
  return [installation.dex, installation.authenticator].filter(
    (c): c is ComponentStatus => Boolean(c),
  );
}

/** The worst health of the installation's components. */
export function healthOf(installation: DexInstallation): Health {
  const healths = componentsOf(installation).map(c => c.health);
  return HEALTH_ORDER.find(h => healths.includes(h)) ?? 'missing';
}

function HealthStatus({ health }: { health: Health }) {
  switch (health) {
    case 'healthy':
      return <StatusOK>healthy</StatusOK>;
    case 'progressing':
      return <StatusPending>progressing</StatusPending>;
    case 'unhealthy':
      return <StatusError>unhealthy</StatusError>;
    default:
      return <StatusWarning>missing</StatusWarning>;
  }
}

/**
 * Where people log in: the authenticator's address from outside the cluster (Ingress,
 * LoadBalancer or NodePort; an in-cluster Service name is no use to a browser), ready ones first.
 */
export function loginUrl(installation: DexInstallation): string | undefined {
  const outside = (installation.authenticator?.endpoints ?? []).filter(
    e => e.kind !== 'clusterIP' && e.url,
  );
  return (outside.find(e => e.ready) ?? outside[0])?.url;
}

/**
 * One installation at a glance: where it is, versions, readiness and health on one line, what a
 * user does with it (log in, download a kubeconfig, upgrade), and the details on demand.
 */
export function DexInstallationSummary({
  entityRef,
  installation,
}: {
  entityRef: string;
  installation: DexInstallation;
}) {
  const key = installationKey(installation);
  const components = componentsOf(installation);
  const ready = components.reduce((n, c) => n + c.replicas.ready, 0);
  const desired = components.reduce((n, c) => n + c.replicas.desired, 0);
  const versions = [
    `Dex ${installation.dex.version ?? 'unknown'}`,
    ...(installation.authenticator
      ? [`authenticator ${installation.authenticator.version ?? 'unknown'}`]
      : []),
  ].join(' · ');
  const login = loginUrl(installation);
  const upgradeTo = installation.dex.updateAvailable
    ? installation.dex.defaultVersion
    : undefined;
  return (
    <Box as="section" aria-label={`Dex installation ${key}`} mb="4">
      <Flex align="center" gap="3" justify="between">
        <Text as="h3" variant="body-medium" weight="bold">
          {key}
        </Text>
        <Text as="span" variant="body-medium">
          {versions}
        </Text>
        <Text as="span" variant="body-medium">
          Ready {ready}/{desired}
        </Text>
        <HealthStatus health={healthOf(installation)} />
      </Flex>
      <Flex align="center" gap="2" mt="2">
        {login && (
          <ButtonLink href={login} target="_blank" size="small">
            Log in
          </ButtonLink>
        )}
        <DownloadKubeconfigButton
          entityRef={entityRef}
          installation={installation}
        />
        {upgradeTo && (
          <ButtonLink
            variant="secondary"
            size="small"
            href={addDexAuthLink(
              upgradeFormData(installation, entityRef, upgradeTo),
            )}
          >
            Upgrade to Dex {upgradeTo}
          </ButtonLink>
        )}
      </Flex>
      <Accordion>
        <AccordionTrigger title="Details" />
        <AccordionPanel>
          <DexInstallationView installation={installation} />
        </AccordionPanel>
      </Accordion>
    </Box>
  );
}
