import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { postgresBinDir, startPostgres } from './postgres';

/**
 * @tier integration (needs Debian's PostgreSQL, which `npm test` installs and `npm run test:unit` does not)
 */
jest.setTimeout(120_000);

describe('startPostgres', () => {
  it('runs a throwaway cluster on loopback that asks for the password, and removes it on stop', async () => {
    const pg = await startPostgres();
    try {
      expect(pg.host).toBe('127.0.0.1');
      expect(pg.query('postgres', 'select current_user, 40 + 2')).toEqual([
        ['backstage', '42'],
      ]);
      // Backstage creates one database per plugin: the user may.
      pg.query('postgres', 'create database backstage_plugin_probe');
      expect(
        pg.query('backstage_plugin_probe', 'select current_database()'),
      ).toEqual([['backstage_plugin_probe']]);

      // Without the password: refused.
      const psql = path.join(postgresBinDir(), 'psql');
      const env = {
        ...process.env,
        PGPASSWORD: 'wrong',
        PGCONNECT_TIMEOUT: '10',
      };
      expect(() =>
        execFileSync(
          psql,
          [
            '-h',
            pg.host,
            '-p',
            String(pg.port),
            '-U',
            pg.user,
            '-d',
            'postgres',
            '-c',
            'select 1',
          ],
          { env, stdio: 'pipe' },
        ),
      ).toThrow(/password authentication failed/);
    } finally {
      await pg.stop();
    }
    expect(fs.existsSync(pg.workDir)).toBe(false);
  });
});
