import {
  EmptyState,
  InfoCard,
  Progress,
  ResponseErrorPanel,
  StatusError,
} from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { Box } from '@backstage/ui';
import { stringifyEntityRef } from '@backstage/catalog-model';
import {
  MissingAnnotationEmptyState,
  useEntity,
} from '@backstage/plugin-catalog-react';
import {
  ANNOTATION_KUBERNETES_ID,
  type ClusterError,
} from '@backstage-dex/plugin-dex-common';
import useAsync from 'react-use/esm/useAsync';
import { dexApiRef } from '../../api';
import { isDexAvailable } from '../../conditions';
import { PlainList } from '../PlainList';
import { DexInstallationView } from './DexInstallationView';

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

function NoInstallation({ entityName }: { entityName: string }) {
  return (
    <EmptyState
      missing="data"
      title="No Dex installation found"
      description={
        <>
          No Dex installation was found for this entity: no objects labelled{' '}
          <code>backstage.io/kubernetes-id={entityName}</code> in the clusters
          that answered. To add one, run the <b>Add Dex auth</b> template
          (Create…) and pick this entity's cluster.
        </>
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
  const kubernetesId =
    entity.metadata.annotations?.[ANNOTATION_KUBERNETES_ID] ??
    entity.metadata.name;
  return (
    <>
      <ClusterErrors errors={value.errors ?? []} />
      {value.installations.length === 0 ? (
        <NoInstallation entityName={kubernetesId} />
      ) : (
        value.installations.map(installation => (
          <DexInstallationView
            key={`${installation.cluster}/${installation.namespace}/${installation.instance}`}
            installation={installation}
          />
        ))
      )}
    </>
  );
}

/**
 * Per cluster, the Dex installations of the current entity: endpoints,
 * versions, Ingress, readiness, certificate expiry and API-server settings.
 *
 * @public
 */
export function EntityDexCard() {
  const { entity } = useEntity();
  if (!isDexAvailable(entity)) {
    return (
      <MissingAnnotationEmptyState annotation={ANNOTATION_KUBERNETES_ID} />
    );
  }
  return (
    <InfoCard title={TITLE}>
      <DexCardContent />
    </InfoCard>
  );
}
