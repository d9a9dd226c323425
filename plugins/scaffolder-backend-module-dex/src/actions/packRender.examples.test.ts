/* eslint-disable jest/no-conditional-expect -- every example runs through one test body; each is also checked for the option it exercises */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigReader } from '@backstage/config';
import {
  LABEL_KUBERNETES_ID,
  LABEL_MANAGED_BY,
} from '@backstage-dex/plugin-dex-common';
import yaml from 'yaml';
import { exampleInput, runAction } from '../__testUtils__/mockContext';
import { createDexPackRenderAction, RENDERED_FILES } from './packRender';
import { examples } from './packRender.examples';

// Certificates are signed in pure JS (node-forge), which is slow under jest.
jest.setTimeout(60_000);

describe('dex:pack:render examples', () => {
  const action = createDexPackRenderAction({ config: new ConfigReader({}) });

  it.each(examples.map(e => [e.description, e] as const))(
    '%s',
    async (_, example) => {
      const input = exampleInput(example);
      const { outputs, logs, ctx } = await runAction(action, { input });

      const dir = path.join(ctx.workspacePath, String(input.targetPath ?? ''));
      for (const file of Object.values(RENDERED_FILES))
        expect(fs.existsSync(path.join(dir, file))).toBe(true);
      const docs = yaml
        .parseAllDocuments(
          fs.readFileSync(path.join(dir, RENDERED_FILES.manifests), 'utf8'),
        )
        .map(d => d.toJS());
      expect(docs.map(d => d.kind)).toEqual(
        expect.arrayContaining([
          'Namespace',
          'Secret',
          'Deployment',
          'Service',
        ]),
      );
      for (const d of docs)
        expect(d.metadata.labels[LABEL_MANAGED_BY]).toBe('backstage-dex');
      expect(
        fs.readFileSync(path.join(dir, RENDERED_FILES.flags), 'utf8'),
      ).toContain('--oidc-issuer-url=');
      expect(
        yaml.parse(
          fs.readFileSync(
            path.join(dir, RENDERED_FILES.authenticationConfiguration),
            'utf8',
          ),
        ).kind,
      ).toBe('AuthenticationConfiguration');
      expect(
        fs.readFileSync(path.join(dir, RENDERED_FILES.ca), 'utf8'),
      ).toContain('BEGIN CERTIFICATE');

      expect(outputs.issuerUrl).toMatch(/^https:\/\//);
      expect(outputs.files).toHaveLength(4);
      if (input.entityRef) {
        expect(outputs.entityRef).toBe(input.entityRef);
        expect(docs[0].metadata.labels[LABEL_KUBERNETES_ID]).toBe(
          'payments-api',
        );
      }
      expect(JSON.stringify(outputs)).not.toContain('PRIVATE KEY');
      expect(logs.join('\n')).not.toContain('PRIVATE KEY');
      expect(logs.join('\n')).toMatch(/seal or encrypt them/);
    },
  );

  it('writes no key material in a dry run', async () => {
    const { ctx, logs } = await runAction(action, {
      input: exampleInput(examples[0]),
      isDryRun: true,
    });
    const manifests = fs.readFileSync(
      path.join(
        ctx.workspacePath,
        'clusters/production/dex',
        RENDERED_FILES.manifests,
      ),
      'utf8',
    );
    const secrets = yaml
      .parseAllDocuments(manifests)
      .map(d => d.toJS())
      .filter(d => d.kind === 'Secret');
    expect(secrets.length).toBeGreaterThan(0);
    for (const s of secrets) {
      for (const v of Object.values<string>(s.data))
        expect(Buffer.from(v, 'base64').toString()).toBe('redacted in dry run');
    }
    expect(logs.join('\n')).toMatch(/replaced by placeholders/);
  });

  it('refuses to write outside the workspace, and passwords it cannot hash', async () => {
    await expect(
      runAction(action, { input: { cluster: 'c', targetPath: '../escape' } }),
    ).rejects.toThrow(/outside|not allowed/i);
    await expect(
      runAction(action, {
        input: {
          cluster: 'c',
          staticUsers: [
            {
              email: 'a@example.com',
              username: 'a',
              passwordRef: { name: 's', key: 'p' },
            },
          ],
        },
      }),
    ).rejects.toThrow(/staticUsers\[0\]\.hash/);
  });
});
