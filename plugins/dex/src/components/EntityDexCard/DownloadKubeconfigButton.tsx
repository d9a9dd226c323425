import { useState } from 'react';
import { StatusError } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { Box, Button } from '@backstage/ui';
import {
  installationKey,
  type DexInstallation,
} from '@backstage-dex/plugin-dex-common';
import { dexApiRef } from '../../api';

/** Saves text as a file, as a download link would (the request itself needed the user's token). */
function saveFile(filename: string, text: string) {
  const url = URL.createObjectURL(
    new Blob([text], { type: 'application/yaml' }),
  );
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  URL.revokeObjectURL(url);
}

/**
 * Downloads the installation's kubeconfig from the backend (GET /api/dex/kubeconfig, with the
 * user's token), and shows the backend's reason when it cannot make one.
 */
export function DownloadKubeconfigButton({
  entityRef,
  installation,
}: {
  entityRef: string;
  installation: DexInstallation;
}) {
  const dexApi = useApi(dexApiRef);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const key = installationKey(installation);
  const download = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const text = await dexApi.getKubeconfig(entityRef, key);
      saveFile(`kubeconfig-${key.replace(/\//g, '-')}.yaml`, text);
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <Button
        variant="secondary"
        size="small"
        loading={busy}
        onPress={download}
      >
        Download kubeconfig
      </Button>
      {error && (
        <Box as="span" role="alert">
          <StatusError>
            {(error as { body?: { error?: { message?: string } } }).body?.error
              ?.message ?? error.message}
          </StatusError>
        </Box>
      )}
    </>
  );
}
