import fs from 'node:fs';
import path from 'node:path';
import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { templateEntityV1beta3Validator } from '@backstage/plugin-scaffolder-common';
import {
  DEFAULT_POLICY,
  SERVICE_TYPES,
  connectorSecretRefs,
} from '@backstage-dex/plugin-dex-common';
import { Validator } from 'jsonschema';
import { createTemplateRenderer } from 'nunjitsu';
import yaml from 'yaml';
import { prepareMaterial, render } from '@backstage-dex/plugin-dex-node';
import { createDexPackApplyAction } from './actions';
import { resolvePackSpec } from './actions/specInput';

/** The template this package's actions serve (templates/add-dex-auth at the repository root). */
const TEMPLATE_PATH = path.resolve(
  __dirname,
  '../../../templates/add-dex-auth/template.yaml',
);

type JsonSchema = {
  properties?: Record<string, JsonSchema>;
  dependencies?: Record<string, { oneOf?: JsonSchema[] }>;
  enum?: string[];
  pattern?: string;
  maxLength?: number;
};

/** Property names a schema can hold, including those its dependencies' branches add. */
function propertiesOf(schema: JsonSchema): Map<string, JsonSchema[]> {
  const found = new Map<string, JsonSchema[]>();
  const add = (s: JsonSchema) => {
    for (const [name, sub] of Object.entries(s.properties ?? {}))
      found.set(name, [...(found.get(name) ?? []), sub]);
    for (const dep of Object.values(s.dependencies ?? {}))
      dep.oneOf?.forEach(add);
  };
  add(schema);
  return found;
}

/** Every `parameters.a.b` (and `steps.apply.output.x`) path used in a string. */
function references(text: string, prefix: string): string[][] {
  const re = new RegExp(
    `${prefix.replace(/\./g, '\\.')}\\.([A-Za-z_][\\w]*(?:\\.[A-Za-z_][\\w]*)*)`,
    'g',
  );
  return [...text.matchAll(re)].map(m => m[1].split('.'));
}

/** What the scaffolder's Secret field leaves in the form's values: one star per character. */
const MASKED = '********';
/** The values the Secret fields hand to the task as secrets (never as parameters). */
const SECRETS = {
  clientSecret: 'form-client-secret-1',
  bindPassword: 'form-bind-password-2',
  password: 'form-user-password-3',
};

/** Form values a user can submit, one per branch of the form. */
const FORMS: Record<string, Record<string, unknown>> = {
  'the defaults': {},
  'Ingresses for Dex and the authenticator, each with its class, path, TLS Secret and annotations':
    {
      dexExposure: {
        serviceType: 'ClusterIP',
        ingress: {
          enabled: true,
          host: 'dex.example.com',
          className: 'nginx',
          path: '/dex',
          tlsSecretName: 'wildcard-tls',
          annotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt' },
        },
      },
      authenticatorExposure: {
        serviceType: 'NodePort',
        ingress: {
          enabled: true,
          host: 'login.example.com',
          className: 'internal',
          path: '/',
        },
      },
    },
  'LoadBalancers for both, no URL (derived from the addresses)': {
    dexExposure: { serviceType: 'LoadBalancer' },
    authenticatorExposure: { serviceType: 'LoadBalancer' },
  },
  'a LoadBalancer with an issuer URL, an Ingress for the authenticator only': {
    dexExposure: {
      serviceType: 'LoadBalancer',
      issuerUrl: 'https://dex.example.com:8443',
    },
    authenticatorExposure: {
      serviceType: 'ClusterIP',
      url: 'https://login.example.com',
      ingress: { enabled: true, host: 'login.example.com' },
    },
  },
  'an old Dex and the older authenticator': {
    version: '2.21.0',
    authenticatorVersion: '1.2.0',
  },
  'no authenticator': { authenticator: false },
  'a static test user': {
    testUser: {
      enabled: true,
      email: 'tester@example.com',
      username: 'tester',
      password: MASKED,
    },
  },
  'GitHub login': {
    connector: {
      type: 'github',
      clientId: 'gh-app',
      clientSecret: MASKED,
      orgs: ['acme'],
    },
  },
  'OIDC login': {
    connector: {
      type: 'oidc',
      issuer: 'https://accounts.example.com',
      clientId: 'dex',
      clientSecret: MASKED,
    },
  },
  'LDAP login': {
    connector: {
      type: 'ldap',
      host: 'ldap.example.com:636',
      bindDN: 'cn=dex,dc=example,dc=com',
      bindPassword: MASKED,
      userBaseDN: 'ou=people,dc=example,dc=com',
    },
  },
  'LDAP login with StartTLS and groups': {
    connector: {
      type: 'ldap',
      host: 'ldap.example.com:389',
      startTLS: true,
      bindDN: 'cn=dex,dc=example,dc=com',
      bindPassword: MASKED,
      userBaseDN: 'ou=people,dc=example,dc=com',
      groupBaseDN: 'ou=groups,dc=example,dc=com',
    },
  },
  'LDAP login with StartTLS and a private CA from a Secret': {
    connector: {
      type: 'ldap',
      host: 'ldap.example.com:389',
      startTLS: true,
      bindDN: 'cn=dex,dc=example,dc=com',
      bindPassword: MASKED,
      userBaseDN: 'ou=people,dc=example,dc=com',
      rootCARef: { name: 'ldap-ca', key: 'ca.crt' },
    },
  },
  'GitLab login': {
    connector: {
      type: 'gitlab',
      baseURL: 'https://gitlab.example.com',
      clientId: 'gl-app',
      clientSecret: MASKED,
      groups: ['platform'],
    },
  },
  'Microsoft login': {
    connector: {
      type: 'microsoft',
      tenant: 'example.onmicrosoft.com',
      clientId: '00000000-0000-0000-0000-000000000000',
      clientSecret: MASKED,
      groups: ['platform'],
    },
  },
  'Google login': {
    connector: {
      type: 'google',
      clientId: 'dex.apps.googleusercontent.com',
      clientSecret: MASKED,
      hostedDomains: ['example.com'],
    },
  },
  'generic OAuth 2 login': {
    connector: {
      type: 'oauth',
      authorizationURL: 'https://oauth.example.com/authorize',
      tokenURL: 'https://oauth.example.com/token',
      userInfoURL: 'https://oauth.example.com/userinfo',
      clientId: 'dex',
      clientSecret: MASKED,
      scopes: ['profile'],
    },
  },
  'SAML login': {
    connector: {
      type: 'saml',
      ssoURL: 'https://idp.example.com/sso',
      caPem:
        '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUXb\n-----END CERTIFICATE-----\n',
      usernameAttr: 'name',
      emailAttr: 'email',
    },
  },
  'rotation and take-over': { rotateCertificates: true, force: true },
  'LDAP login and a test user, in another instance': {
    instance: 'corp',
    connector: {
      type: 'ldap',
      host: 'ldap.example.com:636',
      bindDN: 'cn=dex,dc=example,dc=com',
      bindPassword: MASKED,
      userBaseDN: 'ou=people,dc=example,dc=com',
    },
    testUser: {
      enabled: true,
      email: 'tester@example.com',
      username: 'tester',
      password: MASKED,
    },
  },
};

/** The secret values a form hands over: those of the Secret fields it shows. */
function secretsOf(form: Record<string, unknown>): Record<string, string> {
  const connector = form.connector as { type?: string } | undefined;
  const user = form.testUser as { enabled?: boolean } | undefined;
  return {
    ...(connector?.type && !['ldap', 'saml'].includes(connector.type)
      ? { clientSecret: SECRETS.clientSecret }
      : {}),
    ...(connector?.type === 'ldap'
      ? { bindPassword: SECRETS.bindPassword }
      : {}),
    ...(user?.enabled ? { password: SECRETS.password } : {}),
  };
}

describe('templates/add-dex-auth', () => {
  const template = yaml.parse(fs.readFileSync(TEMPLATE_PATH, 'utf8'));
  const action = createDexPackApplyAction({
    config: new ConfigReader({}),
    permissions: mockServices.permissions(),
  });
  const parameters: JsonSchema = { properties: {}, dependencies: {} };
  for (const step of template.spec.parameters) {
    Object.assign(parameters.properties!, step.properties);
    Object.assign(parameters.dependencies!, step.dependencies);
  }

  it('is a valid scaffolder.backstage.io/v1beta3 Template', async () => {
    expect(template.metadata.name).toBe('add-dex-auth');
    expect(template.metadata.title).toBe('Add Dex auth');
    expect(await templateEntityV1beta3Validator.check(template)).toBe(true);
    expect(
      template.spec.parameters.map((p: { title: string }) => p.title),
    ).toEqual(['Target', 'Dex', 'Exposure', 'Plan']);
    expect(
      template.spec.steps.map((s: { action: string }) => s.action),
    ).toEqual(['dex:pack:apply']);
  });

  it('uses only parameters it defines', () => {
    const used = references(
      JSON.stringify([template.spec.steps, template.spec.output]),
      'parameters',
    );
    expect(used.length).toBeGreaterThan(10);
    for (const refPath of used) {
      let candidates: JsonSchema[] = [parameters];
      for (const segment of refPath) {
        candidates = candidates.flatMap(
          c => propertiesOf(c).get(segment) ?? [],
        );
        expect({
          ref: `parameters.${refPath.join('.')}`,
          defined: candidates.length > 0,
        }).toEqual({
          ref: `parameters.${refPath.join('.')}`,
          defined: true,
        });
      }
    }
  });

  it("asks for every secret with the scaffolder's Secret field, so it travels as a task secret, not a parameter", () => {
    const props = propertiesOf(parameters);
    const connector = propertiesOf(props.get('connector')![0]);
    const testUser = propertiesOf(props.get('testUser')![0]);
    const secretFields = [
      ...connector.get('clientSecret')!,
      ...connector.get('bindPassword')!,
      ...testUser.get('password')!,
    ];
    // GitHub, GitLab, Microsoft, Google, OIDC, OAuth 2, LDAP, the test user (SAML has no secret).
    expect(secretFields).toHaveLength(8);
    for (const field of secretFields)
      expect((field as { 'ui:field'?: string })['ui:field']).toBe('Secret');
    // No form field names a Secret by hand any more (a spec may only read the pack's own or labelled ones).
    const text = JSON.stringify(template.spec.parameters);
    expect(text).not.toMatch(/SecretRef|passwordRef|bindPasswordRef/);
    const step = JSON.stringify(template.spec.steps[0].input);
    for (const key of Object.keys(SECRETS))
      expect(step).toContain(`\${{ secrets.${key} }}`);
  });

  it("has an input schema without $ref (the scaffolder's validator cannot resolve them without an $id)", () => {
    expect(JSON.stringify(action.schema?.input)).not.toContain('$ref');
  });

  it('reads only outputs the action declares', () => {
    const outputs = Object.keys(
      (action.schema?.output as JsonSchema).properties ?? {},
    );
    for (const [name] of references(
      JSON.stringify(template.spec.output),
      'steps.apply.output',
    )) {
      expect(outputs).toContain(name);
    }
  });

  it("asks in the form what the spec schema accepts (the form's own checks are the spec's)", () => {
    const props = propertiesOf(parameters);
    for (const component of ['dexExposure', 'authenticatorExposure']) {
      expect(props.get(component)![0].properties!.serviceType.enum).toEqual(
        SERVICE_TYPES,
      );
    }
    // A value the form lets through must not be refused by the action only after submitting.
    const namespace = props.get('namespace')![0];
    const instance = props.get('instance')![0];
    const probe = (values: Record<string, unknown>) => () =>
      resolvePackSpec({ cluster: 'local', ...values }, DEFAULT_POLICY);
    expect(
      probe({ namespace: 'a'.repeat(namespace.maxLength!) }),
    ).not.toThrow();
    expect(probe({ namespace: 'a'.repeat(namespace.maxLength! + 1) })).toThrow(
      /namespace/,
    );
    expect(probe({ instance: 'a'.repeat(instance.maxLength!) })).not.toThrow();
    expect(probe({ instance: 'a'.repeat(instance.maxLength! + 1) })).toThrow(
      /instance/,
    );
    for (const bad of ['-dex', 'Dex', 'dex_1']) {
      expect(new RegExp(namespace.pattern!).test(bad)).toBe(false);
      expect(probe({ namespace: bad })).toThrow(/namespace/);
    }
  });

  describe.each(Object.entries(FORMS))('submitted with %s', (_name, form) => {
    const renderer = createTemplateRenderer();
    const defaults = Object.fromEntries(
      Object.entries(parameters.properties!).flatMap(([k, v]) =>
        (v as { default?: unknown }).default !== undefined
          ? [[k, (v as { default?: unknown }).default]]
          : [],
      ),
    );
    const values = {
      entity: 'component:default/payments-api',
      cluster: 'local',
      version: '2.45.1',
      authenticatorVersion: '1.4.0',
      ...defaults,
      dexExposure: { serviceType: 'ClusterIP' },
      authenticatorExposure: { serviceType: 'ClusterIP' },
      ...form,
    };
    const secrets = secretsOf(form);
    // As the scaffolder renders a step's input (NunjucksWorkflowRunner.render).
    const input = JSON.parse(
      JSON.stringify(template.spec.steps[0].input),
      (_key, value) =>
        typeof value === 'string'
          ? renderer.renderValue(
              value,
              { parameters: values, secrets },
              { coercion: 'json' },
            )
          : value,
    );

    it("the form's values pass the template's parameters", () => {
      const validator = new Validator();
      for (const step of template.spec.parameters) {
        expect(
          validator
            .validate(values, { ...step, type: 'object' })
            .errors.map(e => e.stack),
        ).toEqual([]);
      }
    });

    it("the step's input passes the action's JSON Schema (as the scaffolder checks it)", () => {
      expect(
        new Validator()
          .validate(input, action.schema!.input!)
          .errors.map(e => e.stack),
      ).toEqual([]);
    });

    it('the step input is a valid spec, with what the form chose for each component', () => {
      const spec = resolvePackSpec(input, DEFAULT_POLICY);
      expect(spec.kubernetesId).toBe('payments-api');
      expect(spec.authenticator.enabled).toBe(form.authenticator !== false);
      expect(spec.dex.version).toBe(values.version);
      expect(spec.authenticator.version).toBe(values.authenticatorVersion);
      // Every catalogued Dex keeps its state in the CRDs the pack installs.
      expect(spec.dex.storage).toBe('kubernetes');
      type Exposure = {
        serviceType: string;
        issuerUrl?: string;
        url?: string;
        ingress?: {
          enabled?: boolean;
          host?: string;
          className?: string;
          path?: string;
          tlsSecretName?: string;
          annotations?: Record<string, string>;
        };
      };
      const chosen = {
        dex: values.dexExposure as Exposure,
        authenticator: values.authenticatorExposure as Exposure,
      };
      const asSpec = (want: Exposure) => {
        const ing = want.ingress?.enabled ? want.ingress : undefined;
        return {
          serviceType: want.serviceType,
          ingress: ing && {
            hosts: [ing.host],
            className: ing.className,
            path: ing.path ?? '/',
            tlsSecretName: ing.tlsSecretName,
            annotations: ing.annotations ?? {},
          },
        };
      };
      const got = (e: (typeof spec)['dex']['exposure']) => ({
        serviceType: e.serviceType,
        ingress: e.ingress?.enabled
          ? {
              hosts: e.ingress.hosts,
              className: e.ingress.className,
              path: e.ingress.path,
              tlsSecretName: e.ingress.tlsSecretName,
              annotations: e.ingress.annotations ?? {},
            }
          : undefined,
      });
      expect(got(spec.dex.exposure)).toEqual(asSpec(chosen.dex));
      expect(got(spec.authenticator.exposure)).toEqual(
        asSpec(chosen.authenticator),
      );
      expect(spec.dex.issuerUrl).toBe(chosen.dex.issuerUrl);
      expect(spec.authenticator.url).toBe(chosen.authenticator.url);
      expect(spec.connectors.map(c => c.type)).toEqual(
        form.connector ? [(form.connector as { type: string }).type] : [],
      );
      // Every field the form asked for reaches the connector, but the Secret fields' stars.
      const {
        clientSecret: _clientSecret,
        bindPassword: _bindPassword,
        ...asked
      } = (form.connector ?? {}) as Record<string, unknown>;
      expect(spec.connectors[0] ?? {}).toMatchObject(asked);
      expect(JSON.stringify(spec.connectors)).not.toContain(MASKED);
    });

    it('references each secret in the Secret the action makes of the secret inputs, and nowhere holds the value but there', () => {
      const spec = resolvePackSpec(input, DEFAULT_POLICY);
      const given = Object.fromEntries(
        Object.entries(input.secretInputs ?? {}).filter(([, v]) => v !== ''),
      ) as Record<string, string>;
      expect(Object.values(given).sort()).toEqual(
        Object.values(secrets).sort(),
      );
      // Rendered as dex-node renders the pack with those inputs: the Secret the refs name is the one made.
      const refs = [
        ...spec.connectors.flatMap(c => {
          const { credential } = connectorSecretRefs(c);
          return credential ? [credential.ref] : [];
        }),
        ...spec.staticUsers.map(u => u.passwordRef!),
      ];
      const { material } = prepareMaterial(spec, {
        secretInputs: given,
        referenced: Object.fromEntries(
          refs.map(r => [`${r.name}/${r.key}`, given[r.key]]),
        ),
      });
      const made = render(spec, material).filter(
        o => o.kind === 'Secret' && o.metadata.name.endsWith('-secret-inputs'),
      );
      expect(made.length).toBe(refs.length ? 1 : 0);
      for (const ref of refs) {
        expect(ref.name).toBe(made[0].metadata.name);
        expect(given[ref.key]).toBeDefined();
      }
      // The spec (what the checkpoint key and the logs are made of) holds no value.
      const specText = JSON.stringify(spec);
      for (const value of Object.values(SECRETS))
        expect(specText).not.toContain(value);
    });
  });
});
