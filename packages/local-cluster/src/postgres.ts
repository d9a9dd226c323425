import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  acceptsConnections,
  freePort,
  isPortTaken,
  ManagedProcess,
  startProcess,
  waitFor,
} from './process';
import { ownedWorkDir } from './workDir';

/** A throwaway PostgreSQL cluster on loopback, for tests of the backend's production shape. */
export interface LocalPostgres {
  host: string;
  port: number;
  /** A superuser (Backstage creates one database per plugin). */
  user: string;
  password: string;
  /** Folder with the data directory and the server log; removed by stop(). */
  workDir: string;
  /** Runs one SQL statement with psql in `database`; returns the rows, columns separated by `|`. */
  query(database: string, sql: string): string[][];
  stop(): Promise<void>;
}

/**
 * The newest PostgreSQL server binaries on the machine: Debian's /usr/lib/postgresql/<major>/bin
 * (initdb and postgres are not on the PATH there), else the PATH.
 */
export function postgresBinDir(): string {
  const debian = '/usr/lib/postgresql';
  const majors = fs.existsSync(debian)
    ? fs
        .readdirSync(debian)
        .filter(
          v =>
            /^\d+$/.test(v) &&
            fs.existsSync(path.join(debian, v, 'bin', 'initdb')),
        )
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors.length) return path.join(debian, majors[0], 'bin');
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (
      dir &&
      fs.existsSync(path.join(dir, 'initdb')) &&
      fs.existsSync(path.join(dir, 'postgres'))
    )
      return dir;
  }
  throw new Error(
    'PostgreSQL is not installed (no initdb in /usr/lib/postgresql/*/bin or on the PATH). ' +
      "Install Debian's server packages: apt-get install -y postgresql (scripts/run.mjs does this when a test needs it).",
  );
}

/**
 * The user the server runs as: PostgreSQL refuses to run as root, so as root it runs as the
 * `postgres` user Debian's package creates (else `nobody`), through util-linux setpriv.
 */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      const uid = Number(
        execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim(),
      );
      const gid = Number(
        execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim(),
      );
      if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid };
    } catch {
      // no such user: try the next
    }
  }
  throw new Error(
    'PostgreSQL refuses to run as root and neither a "postgres" nor a "nobody" user exists to run it as.',
  );
}

/**
 * `[bin, args]` that run `bin` as `user`. setpriv execs, so the pid stays the server's; the kernel
 * clears a parent-death signal when the uid changes, so it is set again after the change.
 */
function asUser(
  user: { uid: number; gid: number } | undefined,
  bin: string,
  args: string[],
): [string, string[]] {
  if (!user) return [bin, args];
  return [
    'setpriv',
    [
      `--reuid=${user.uid}`,
      `--regid=${user.gid}`,
      '--clear-groups',
      '--pdeathsig',
      'KILL',
      '--',
      bin,
      ...args,
    ],
  ];
}

/**
 * initdb into a temporary folder and start `postgres` on a free loopback port, with password
 * authentication (scram) for one random superuser. stop() shuts it down fast and removes the folder.
 */
export async function startPostgres(
  options: { maxConnections?: number } = {},
): Promise<LocalPostgres> {
  const bin = postgresBinDir();
  const user = serverUser();
  const workDir = ownedWorkDir('local-postgres-');
  const dataDir = path.join(workDir, 'data');
  const password = crypto.randomBytes(18).toString('hex');
  const dbUser = 'backstage';
  let server: ManagedProcess | undefined;
  const removeAll = () => fs.rmSync(workDir, { recursive: true, force: true });
  try {
    const pwFile = path.join(workDir, 'pwfile');
    fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    if (user) {
      fs.chownSync(workDir, user.uid, user.gid);
      fs.chownSync(pwFile, user.uid, user.gid);
    }
    const [initdb, initdbArgs] = asUser(user, path.join(bin, 'initdb'), [
      `--pgdata=${dataDir}`,
      `--username=${dbUser}`,
      `--pwfile=${pwFile}`,
      '--auth=scram-sha-256',
      '--encoding=UTF8',
      '--no-instructions',
    ]);
    try {
      execFileSync(initdb, initdbArgs, { stdio: 'pipe', timeout: 120_000 });
    } catch (e) {
      const err = e as { stderr?: Buffer; message: string };
      throw new Error(
        `initdb failed: ${err.stderr?.toString().trim() || err.message}`,
      );
    }
    fs.rmSync(pwFile);

    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const [cmd, args] = asUser(user, path.join(bin, 'postgres'), [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        `unix_socket_directories=${workDir}`,
        '-c',
        `max_connections=${options.maxConnections ?? 300}`,
        // A test database: durability across a machine crash is not needed.
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
      ]);
      const proc = startProcess({
        name: 'postgres',
        bin: cmd,
        args,
        workDir,
        env: { ...process.env, LC_ALL: 'C' },
      });
      server = proc;
      try {
        await waitFor(proc, 'ready to accept connections', async () => {
          if (!(await acceptsConnections(port))) return false;
          return /ready to accept connections/.test(proc.tail(50));
        });
      } catch (e) {
        await proc.stop();
        if (attempt < 3 && isPortTaken(`${e}`)) continue;
        throw e;
      }
      const psql = path.join(bin, 'psql');
      const started = proc;
      return {
        host: '127.0.0.1',
        port,
        user: dbUser,
        password,
        workDir,
        query(database, sql) {
          const out = execFileSync(
            psql,
            [
              '-h',
              '127.0.0.1',
              '-p',
              String(port),
              '-U',
              dbUser,
              '-d',
              database,
              '-X',
              '-A',
              '-t',
              '-v',
              'ON_ERROR_STOP=1',
              '-c',
              sql,
            ],
            {
              encoding: 'utf8',
              env: {
                ...process.env,
                PGPASSWORD: password,
                PGCONNECT_TIMEOUT: '10',
              },
              timeout: 30_000,
            },
          );
          return out
            .split('\n')
            .filter(line => line.length > 0)
            .map(line => line.split('|'));
        },
        async stop() {
          // Fast shutdown (SIGINT): SIGTERM would wait for every client to disconnect.
          if (!started.exited()) {
            const [pgCtl, pgCtlArgs] = asUser(user, path.join(bin, 'pg_ctl'), [
              'stop',
              '-D',
              dataDir,
              '-m',
              'fast',
              '-t',
              '20',
            ]);
            try {
              execFileSync(pgCtl, pgCtlArgs, {
                stdio: 'pipe',
                timeout: 30_000,
              });
            } catch {
              // stop() below kills it
            }
          }
          await started.stop();
          removeAll();
        },
      };
    }
  } catch (e) {
    await server?.stop();
    removeAll();
    throw e;
  }
}
