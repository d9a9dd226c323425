import {
  EmptyState,
  InfoCard,
  Progress,
  ResponseErrorPanel,
  StatusError,
} from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { useEffect, useState } from 'react';
import { Box, ButtonLink } from '@backstage/ui';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { useEntity } from '@backstage/plugin-catalog-react';
import {
  installationKey,
  type ClusterError,
  type DexStatusResponse,
} from '@backstage-dex/plugin-dex-common';
import { dexApiRef } from '../../api';
import { PlainList } from '../PlainList';
import { DexInstallationSummary, healthOf } from './DexInstallationSummary';
import { addDexAuthLink } from './templateLink';

const TITLE = 'Dex authentication';

function ClusterErrors({ errors }: { errors: ClusterError[] }) {
  if (errors.length === 0) {
    return null;
  }
  return (
    <Box as="section" aria-label="Cluster errors" mb="4">
      <PlainList>
        {errors.map(error => (
          <li key={`${error.cluster}:${error.message}`}>
            <StatusError>
              Cluster {error.cluster} could not be read: {error.message}
            </StatusError>
          </li>
        ))}
      </PlainList>
    </Box>
  );
}

function NoInstallation({ entityRef }: { entityRef: string }) {
  return (
    <EmptyState
      missing="data"
      title="No Dex installation yet"
      description="No Dex installation of this entity was found in the clusters that answered. Add one: the template installs Dex and a login page on a cluster you choose, for this entity."
      action={
        <ButtonLink href={addDexAuthLink({ entity: entityRef })}>
          Add Dex auth
        </ButtonLink>
      }
    />
  );
}

/** How often the card asks again while an installation is not healthy yet (rolling out, starting). */
const DEFAULT_POLL_INTERVAL_MS = 5_000;

/**
 * The entity's status, asked again every `pollIntervalMs` while some installation is not healthy
 * (a fresh install or an upgrade rolls out after the task ends): the card follows it without a
 * reload, and stops asking once everything is healthy. The last answer stays on screen meanwhile.
 */
function useDexStatus(entityRef: string, pollIntervalMs: number) {
  const dexApi = useApi(dexApiRef);
  const [state, setState] = useState<{
    value?: DexStatusResponse;
    error?: Error;
  }>({});
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const value = await dexApi.getStatus(entityRef);
        if (stopped) return;
        setState({ value });
        if (value.installations.some(i => healthOf(i) !== 'healthy'))
          timer = setTimeout(load, pollIntervalMs);
      } catch (e) {
        if (!stopped) setState({ error: e as Error });
      }
    };
    setState({});
    load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [dexApi, entityRef, pollIntervalMs]);
  return { ...state, loading: !state.value && !state.error };
}

function DexCardContent({ pollIntervalMs }: { pollIntervalMs: number }) {
  const { entity } = useEntity();
  const entityRef = stringifyEntityRef(entity);
  const { value, loading, error } = useDexStatus(entityRef, pollIntervalMs);

  if (loading) {
    return <Progress />;
  }
  if (error) {
    return <ResponseErrorPanel error={error} />;
  }
  if (!value) {
    return null;
  }
  return (
    <>
      <ClusterErrors errors={value.errors ?? []} />
      {value.installations.length === 0 ? (
        <NoInstallation entityRef={entityRef} />
      ) : (
        value.installations.map(installation => (
          <DexInstallationSummary
            key={installationKey(installation)}
            entityRef={entityRef}
            installation={installation}
          />
        ))
      )}
    </>
  );
}

/**
 * Props of {@link EntityDexCard}.
 *
 * @public
 */
export interface EntityDexCardProps {
  /** How often (ms) the card asks again while an installation is not healthy; 5000 by default. */
  pollIntervalMs?: number;
}

/**
 * The Dex installations of the current entity: one line each (where, versions, readiness,
 * health) with Log in, Download kubeconfig and Upgrade, the details on demand; an "Add Dex auth"
 * button while there is none. It follows an installation that is still coming up.
 *
 * @public
 */
export function EntityDexCard({
  pollIntervalMs = DEFAULT_POLL_INTERVAL_MS,
}: EntityDexCardProps = {}) {
  return (
    <InfoCard title={TITLE}>
      <DexCardContent pollIntervalMs={pollIntervalMs} />
    </InfoCard>
  );
}
