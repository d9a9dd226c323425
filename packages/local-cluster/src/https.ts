import https from 'node:https';

export interface HttpsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** An HTTPS request that trusts exactly `caPem` (no system roots), as a client of the local peers would. */
export function httpsRequest(
  url: string,
  options: {
    caPem: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
  },
): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: options.method ?? 'GET',
        ca: options.caPem,
        headers: options.headers,
        timeout: 10_000,
      },
      res => {
        const chunks: Buffer[] = [];
        res.on('data', c => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`timeout requesting ${url}`)),
    );
    req.on('error', reject);
    if (options.body) req.write(options.body);
    req.end();
  });
}
