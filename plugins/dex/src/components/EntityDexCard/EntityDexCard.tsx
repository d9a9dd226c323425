import {
  EmptyState,
  InfoCard,
  Progress,
  ResponseErrorPanel,
  StatusError,
} from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { Box, ButtonLink } from '@backstage/ui';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { useEntity } from '@backstage/plugin-catalog-react';
import {
  installationKey,
  type ClusterError,
} from '@backstage-dex/plugin-dex-common';
import useAsync from 'react-use/esm/useAsync';
import { dexApiRef } from '../../api';
import { PlainList } from '../PlainList';
import { DexInstallationSummary } from './DexInstallationSummary';
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

function DexCardContent() {
  const { entity } = useEntity();
  const dexApi = useApi(dexApiRef);
  const entityRef = stringifyEntityRef(entity);
  const { value, loading, error } = useAsync(
    () => dexApi.getStatus(entityRef),
    [dexApi, entityRef],
  );

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
 * The Dex installations of the current entity: one line each (where, versions, readiness,
 * health) with Log in, Download kubeconfig and Upgrade, the details on demand; an "Add Dex auth"
 * button while there is none.
 *
 * @public
 */
export function EntityDexCard() {
  return (
    <InfoCard title={TITLE}>
      <DexCardContent />
    </InfoCard>
  );
}
