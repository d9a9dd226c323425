import type { FieldExtensionComponentProps } from '@backstage/plugin-scaffolder-react';
import type { DexClustersResponse } from '@backstage-dex/plugin-dex-common';
import { type DexApiChoices, DexApiSelectField } from '../DexApiSelectField';

/** The platform's default when it is offered, else the only cluster there is. */
function clusterChoices(clusters?: DexClustersResponse): DexApiChoices {
  const options = clusters?.clusters.map(c => c.name) ?? [];
  if (clusters?.default && options.includes(clusters.default))
    return { options, preselect: clusters.default };
  return { options, preselect: options.length === 1 ? options[0] : undefined };
}

/**
 * Scaffolder field: one of the clusters the dex backend knows (GET /api/dex/clusters),
 * preselecting the configured default, or the only cluster.
 *
 * @public
 */
export function DexClusterPicker(props: FieldExtensionComponentProps<string>) {
  return (
    <DexApiSelectField
      field={props}
      load={dexApi => dexApi.getClusters()}
      pick={clusterChoices}
      label="Cluster"
      id="dex-cluster-picker"
    />
  );
}
