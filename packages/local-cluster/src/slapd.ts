import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { TestPki, loopbackPki } from './certs';
import { ownedWorkDir } from './workDir';
import {
  ManagedProcess,
  acceptsConnections,
  freePort,
  isPortTaken,
  startProcess,
  waitFor,
} from './process';

/** A person in the directory (inetOrgPerson under ou=people). */
export interface LdapUser {
  uid: string;
  password: string;
  email: string;
  name: string;
  /** groupOfNames under ou=groups that list the user as a member. */
  groups?: string[];
}

/** A throwaway OpenLDAP server on loopback, for login tests of Dex's LDAP connector. */
export interface LocalSlapd {
  /** Plain LDAP (StartTLS offered): 127.0.0.1:<port>. */
  ldapHost: string;
  /** LDAPS: 127.0.0.1:<port>. */
  ldapsHost: string;
  ports: { ldap: number; ldaps: number };
  /** The directory's base DN, e.g. dc=example,dc=org. */
  suffix: string;
  peopleDN: string;
  groupsDN: string;
  /** The DN Dex binds as to search (the directory's root DN) and its password. */
  bindDN: string;
  bindPassword: string;
  /** PEM of the CA that signed the server's certificate (for 127.0.0.1 and localhost). */
  caPem: string;
  workDir: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/** Where Debian's slapd lives; a clear message when it is not installed. */
export function slapdBinaries(): { slapd: string; slapadd: string } {
  const found = ['/usr/sbin/slapd', '/usr/sbin/slapadd'].every(f =>
    fs.existsSync(f),
  );
  if (!found)
    throw new Error(
      "OpenLDAP's slapd is not installed (no /usr/sbin/slapd): apt-get install slapd (packages/local-cluster's build installs it as root).",
    );
  return { slapd: '/usr/sbin/slapd', slapadd: '/usr/sbin/slapadd' };
}

const ldifValue = (v: string) =>
  // Base64 (name:: value) for anything LDIF cannot carry as is.
  /^[\x21-\x39\x3b\x3d-\x7e][\x20-\x7e]*$/.test(v) && !v.endsWith(' ')
    ? `: ${v}`
    : `:: ${Buffer.from(v).toString('base64')}`;

function directoryLdif(suffix: string, users: LdapUser[]): string {
  const dc = /^dc=([^,]+)/.exec(suffix)?.[1] ?? 'example';
  const entry = (dn: string, attrs: [string, string][]) =>
    [`dn${ldifValue(dn)}`, ...attrs.map(([k, v]) => `${k}${ldifValue(v)}`)]
      .join('\n')
      .concat('\n');
  const userDn = (u: LdapUser) => `uid=${u.uid},ou=people,${suffix}`;
  const groups = [...new Set(users.flatMap(u => u.groups ?? []))];
  return [
    entry(suffix, [
      ['objectClass', 'dcObject'],
      ['objectClass', 'organization'],
      ['o', dc],
      ['dc', dc],
    ]),
    entry(`ou=people,${suffix}`, [
      ['objectClass', 'organizationalUnit'],
      ['ou', 'people'],
    ]),
    entry(`ou=groups,${suffix}`, [
      ['objectClass', 'organizationalUnit'],
      ['ou', 'groups'],
    ]),
    ...users.map(u =>
      entry(userDn(u), [
        ['objectClass', 'inetOrgPerson'],
        ['uid', u.uid],
        ['cn', u.name],
        ['sn', u.name],
        ['mail', u.email],
        ['userPassword', u.password],
      ]),
    ),
    ...groups.map(g =>
      entry(`cn=${g},ou=groups,${suffix}`, [
        ['objectClass', 'groupOfNames'],
        ['cn', g],
        ...users
          .filter(u => u.groups?.includes(g))
          .map(u => ['member', userDn(u)] as [string, string]),
      ]),
    ),
  ].join('\n');
}

/**
 * Debian's slapd with a fresh directory in a temporary folder: `users` (and their groups) under
 * `suffix`, plain LDAP with StartTLS and LDAPS on free loopback ports, a certificate from a
 * throwaway CA (or `tls`). stop() ends it and removes the folder.
 */
export async function startSlapd(options: {
  users: LdapUser[];
  suffix?: string;
  tls?: TestPki;
}): Promise<LocalSlapd> {
  const bins = slapdBinaries();
  const suffix = options.suffix ?? 'dc=example,dc=org';
  const tls = options.tls ?? loopbackPki('slapd', ['localhost']);
  const bindPassword = crypto.randomBytes(18).toString('hex');
  const bindDN = `cn=admin,${suffix}`;
  const workDir = ownedWorkDir('local-slapd-');
  const file = (name: string, content: string) => {
    const p = path.join(workDir, name);
    fs.writeFileSync(p, content, { mode: 0o600 });
    return p;
  };
  let server: ManagedProcess | undefined;
  try {
    const dataDir = path.join(workDir, 'data');
    fs.mkdirSync(dataDir);
    const conf = file(
      'slapd.conf',
      [
        ...['core', 'cosine', 'inetorgperson'].map(
          s => `include /etc/ldap/schema/${s}.schema`,
        ),
        'modulepath /usr/lib/ldap',
        'moduleload back_mdb',
        `pidfile ${path.join(workDir, 'slapd.pid')}`,
        `TLSCACertificateFile ${file('ca.pem', tls.caPem)}`,
        `TLSCertificateFile ${file('cert.pem', tls.certPem)}`,
        `TLSCertificateKeyFile ${file('key.pem', tls.keyPem)}`,
        'database mdb',
        'maxsize 16777216',
        `suffix "${suffix}"`,
        `rootdn "${bindDN}"`,
        `rootpw ${bindPassword}`,
        `directory ${dataDir}`,
        // Users bind with their password; only a bound user (e.g. Dex's bind DN) may search.
        'access to attrs=userPassword by anonymous auth by self read by * none',
        'access to * by users read by * none',
        '',
      ].join('\n'),
    );
    const ldif = file('directory.ldif', directoryLdif(suffix, options.users));
    try {
      execFileSync(bins.slapadd, ['-f', conf, '-l', ldif], {
        stdio: 'pipe',
        timeout: 60_000,
      });
    } catch (e) {
      const err = e as { stderr?: Buffer; message: string };
      throw new Error(
        `slapadd failed: ${err.stderr?.toString().trim() || err.message}`,
      );
    }
    for (let attempt = 1; ; attempt++) {
      const ports = { ldap: await freePort(), ldaps: await freePort() };
      const proc = startProcess({
        name: 'slapd',
        bin: bins.slapd,
        // -d keeps slapd in the foreground (its log goes to the process log); 256: connections and operations.
        args: [
          '-d',
          '256',
          '-f',
          conf,
          '-h',
          `ldap://127.0.0.1:${ports.ldap}/ ldaps://127.0.0.1:${ports.ldaps}/`,
        ],
        workDir,
      });
      server = proc;
      try {
        await waitFor(
          proc,
          'listening',
          async () =>
            (await acceptsConnections(ports.ldap)) &&
            acceptsConnections(ports.ldaps),
          30_000,
        );
      } catch (e) {
        await proc.stop();
        if (attempt < 3 && isPortTaken(`${e}`)) continue;
        throw e;
      }
      const started = proc;
      return {
        ldapHost: `127.0.0.1:${ports.ldap}`,
        ldapsHost: `127.0.0.1:${ports.ldaps}`,
        ports,
        suffix,
        peopleDN: `ou=people,${suffix}`,
        groupsDN: `ou=groups,${suffix}`,
        bindDN,
        bindPassword,
        caPem: tls.caPem,
        workDir,
        process: started,
        async stop() {
          await started.stop();
          fs.rmSync(workDir, { recursive: true, force: true });
        },
      };
    }
  } catch (e) {
    await server?.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
    throw e;
  }
}
