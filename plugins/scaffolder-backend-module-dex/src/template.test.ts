import fs from 'node:fs';
import path from 'node:path';
import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { templateEntityV1beta3Validator } from '@backstage/plugin-scaffolder-common';
import {
  DEFAULT_POLICY,
  SERVICE_TYPES,
} from '@backstage-dex/plugin-dex-common';
import { Validator } from 'jsonschema';
import { createTemplateRenderer } from 'nunjitsu';
import yaml from 'yaml';
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

const secretRef = (name: string, key: string) => ({ name, key });

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
  'an old Dex (memory storage) and the older authenticator': {
    version: '2.21.0',
    authenticatorVersion: '1.2.0',
  },
  'no authenticator': { authenticator: false },
  'a static test user': {
    testUser: {
      enabled: true,
      email: 'tester@example.com',
      username: 'tester',
      passwordRef: secretRef('tester', 'password'),
    },
  },
  'GitHub login': {
    connector: {
      type: 'github',
      clientId: 'gh-app',
      clientSecretRef: secretRef('github', 'client-secret'),
      orgs: ['acme'],
    },
  },
  'OIDC login': {
    connector: {
      type: 'oidc',
      issuer: 'https://accounts.example.com',
      clientId: 'dex',
      clientSecretRef: secretRef('oidc', 'client-secret'),
    },
  },
  'LDAP login': {
    connector: {
      type: 'ldap',
      host: 'ldap.example.com:636',
      bindDN: 'cn=dex,dc=example,dc=com',
      bindPasswordRef: secretRef('ldap', 'password'),
      userBaseDN: 'ou=people,dc=example,dc=com',
    },
  },
  'LDAP login with StartTLS and groups': {
    connector: {
      type: 'ldap',
      host: 'ldap.example.com:389',
      startTLS: true,
      bindDN: 'cn=dex,dc=example,dc=com',
      bindPasswordRef: secretRef('ldap', 'password'),
      userBaseDN: 'ou=people,dc=example,dc=com',
      groupBaseDN: 'ou=groups,dc=example,dc=com',
    },
  },
  'GitLab login': {
    connector: {
      type: 'gitlab',
      baseURL: 'https://gitlab.example.com',
      clientId: 'gl-app',
      clientSecretRef: secretRef('gitlab', 'client-secret'),
      groups: ['platform'],
    },
  },
  'Microsoft login': {
    connector: {
      type: 'microsoft',
      tenant: 'example.onmicrosoft.com',
      clientId: '00000000-0000-0000-0000-000000000000',
      clientSecretRef: secretRef('microsoft', 'client-secret'),
      groups: ['platform'],
    },
  },
  'Google login': {
    connector: {
      type: 'google',
      clientId: 'dex.apps.googleusercontent.com',
      clientSecretRef: secretRef('google', 'client-secret'),
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
      clientSecretRef: secretRef('oauth', 'client-secret'),
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
};

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
    // As the scaffolder renders a step's input (NunjucksWorkflowRunner.render).
    const input = JSON.parse(
      JSON.stringify(template.spec.steps[0].input),
      (_key, value) =>
        typeof value === 'string'
          ? renderer.renderValue(
              value,
              { parameters: values },
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
      // Dex before 2.30 cannot keep its state in CRDs on a current Kubernetes: memory, chosen for it.
      expect(spec.dex.storage).toBe(
        values.version === '2.21.0' ? 'memory' : 'kubernetes',
      );
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
    });
  });
});
