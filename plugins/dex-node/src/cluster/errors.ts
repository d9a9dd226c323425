import {
  AuthenticationError,
  ConflictError,
  NotAllowedError,
  ServiceUnavailableError,
} from '@backstage/errors';

/** Errors that mean "a request to the cluster was cut off at its time bound". */
const timeouts = new WeakSet<Error>();

export function isTimeout(e: unknown): boolean {
  return e instanceof Error && timeouts.has(e);
}

/** Marks an error (e.g. one that sums up several failures) as a timeout. */
export function markTimeout<E extends Error>(e: E): E {
  timeouts.add(e);
  return e;
}

/**
 * A Kubernetes API error as a Backstage error with a message that says what happened and what to
 * change. Never includes request bodies (they may carry secrets).
 */
export function describeKubeError(e: unknown, doing: string): Error {
  const err = e as {
    code?: number;
    body?: unknown;
    message?: string;
    cause?: { code?: string };
  };
  let status: { message?: string } = {};
  try {
    status =
      typeof err.body === 'string'
        ? JSON.parse(err.body)
        : ((err.body as { message?: string }) ?? {});
  } catch {
    // not JSON
  }
  const reason = status.message ?? err.message ?? String(e);
  // AbortSignal.timeout (the request bound) rejects with a TimeoutError, a cancelled task with an AbortError.
  const name = (e as { name?: string })?.name;
  if (name === 'TimeoutError')
    return markTimeout(
      new ServiceUnavailableError(
        `${doing}: the cluster did not answer in time`,
      ),
    );
  if (name === 'AbortError') return new Error(`${doing}: cancelled`);
  switch (err.code) {
    case 401:
      return new AuthenticationError(
        `${doing}: the cluster rejected the credentials (401); check serviceAccountToken`,
      );
    case 403:
      return new NotAllowedError(
        `${doing}: forbidden (403): ${reason}; grant the service account the RBAC it needs`,
      );
    case 409:
      return new ConflictError(`${doing}: conflict (409): ${reason}`);
    case 422:
    case 400:
      return new Error(
        `${doing}: the apiserver refused the object (${err.code}): ${reason}`,
      );
    default:
      break;
  }
  const tlsCode = /CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET)|ALTNAME/.exec(
    String(err.cause?.code ?? ''),
  )
    ? err.cause?.code
    : undefined;
  if (tlsCode) {
    return new ServiceUnavailableError(
      `${doing}: the cluster's TLS certificate is not trusted (${tlsCode}); set caData to the base64 PEM of the CA that signed the kube-apiserver's certificate, and check that the url's host is in that certificate`,
    );
  }
  const netCode =
    err.cause?.code ??
    /ECONNREFUSED|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|ECONNRESET/.exec(
      String(err.message),
    )?.[0];
  if (netCode || !err.code) {
    return new ServiceUnavailableError(
      `${doing}: the cluster is unreachable (${netCode ?? reason}); check the cluster url and that it is up`,
    );
  }
  return new Error(`${doing}: ${err.code} ${reason}`);
}
