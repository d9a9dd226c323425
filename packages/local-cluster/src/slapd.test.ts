/** @tier integration (Debian's slapd) */
import { execFileSync } from 'node:child_process';
import { LocalSlapd, startSlapd } from './slapd';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

jest.setTimeout(60_000);

let slapd: LocalSlapd;
let caFile: string;
beforeAll(async () => {
  slapd = await startSlapd({
    users: [
      {
        uid: 'alice',
        password: 'wonder land',
        email: 'alice@example.org',
        name: 'Alice',
        groups: ['developers'],
      },
    ],
  });
  caFile = path.join(slapd.workDir, 'client-ca.pem');
  fs.writeFileSync(caFile, slapd.caPem);
});
afterAll(() => slapd?.stop());

/** ldapwhoami (ldap-utils) as a user, over StartTLS or LDAPS, trusting only the server's CA. */
function whoami(url: string, password: string, startTls: boolean) {
  return execFileSync(
    'ldapwhoami',
    [
      '-x',
      '-H',
      url,
      ...(startTls ? ['-ZZ'] : []),
      '-D',
      `uid=alice,${slapd.peopleDN}`,
      '-w',
      password,
    ],
    {
      encoding: 'utf8',
      stdio: 'pipe',
      timeout: 10_000,
      env: {
        ...process.env,
        LDAPTLS_CACERT: caFile,
        LDAPTLS_REQCERT: 'demand',
        HOME: os.tmpdir(),
      },
    },
  ).trim();
}

it('lets a user bind with their password over StartTLS and LDAPS, verified with its CA', () => {
  expect(whoami(`ldap://${slapd.ldapHost}`, 'wonder land', true)).toBe(
    `dn:uid=alice,${slapd.peopleDN}`,
  );
  expect(whoami(`ldaps://${slapd.ldapsHost}`, 'wonder land', false)).toBe(
    `dn:uid=alice,${slapd.peopleDN}`,
  );
  expect(() => whoami(`ldap://${slapd.ldapHost}`, 'wrong', true)).toThrow(
    /Invalid credentials/,
  );
});

it('lists the user in their group to a bound client, and nothing to an anonymous one', () => {
  const out = execFileSync(
    'ldapsearch',
    [
      '-x',
      '-LLL',
      '-H',
      `ldap://${slapd.ldapHost}`,
      '-D',
      slapd.bindDN,
      '-w',
      slapd.bindPassword,
      '-b',
      slapd.suffix,
      '(|(cn=developers)(uid=alice))',
      'member',
      'mail',
      'userPassword',
    ],
    { encoding: 'utf8', timeout: 10_000 },
  );
  expect(out).toContain(`member: uid=alice,${slapd.peopleDN}`);
  expect(out).toContain('mail: alice@example.org');
  // Searching needs a bind (as Dex's bind DN): an anonymous search finds nothing.
  expect(() =>
    execFileSync(
      'ldapsearch',
      [
        '-x',
        '-LLL',
        '-H',
        `ldap://${slapd.ldapHost}`,
        '-b',
        slapd.suffix,
        '(uid=alice)',
        'mail',
      ],
      { encoding: 'utf8', stdio: 'pipe', timeout: 10_000 },
    ),
  ).toThrow(/No such object/);
});
