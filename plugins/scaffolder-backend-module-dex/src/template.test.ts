import fs from 'node:fs';
import path from 'node:path';
import { ConfigReader } from '@backstage/config';
import { templateEntityV1beta3Validator } from '@backstage/plugin-scaffolder-common';
import yaml from 'yaml';
import { createDexPackApplyAction } from './actions';

/** The template this package's actions serve (templates/add-dex-auth at the repository root). */
const TEMPLATE_PATH = path.resolve(__dirname, '../../../templates/add-dex-auth/template.yaml');

type JsonSchema = {
  properties?: Record<string, JsonSchema>;
  dependencies?: Record<string, { oneOf?: JsonSchema[] }>;
};

/** Property names a schema can hold, including those its dependencies' branches add. */
function propertiesOf(schema: JsonSchema): Map<string, JsonSchema[]> {
  const found = new Map<string, JsonSchema[]>();
  const add = (s: JsonSchema) => {
    for (const [name, sub] of Object.entries(s.properties ?? {})) found.set(name, [...(found.get(name) ?? []), sub]);
    for (const dep of Object.values(s.dependencies ?? {})) dep.oneOf?.forEach(add);
  };
  add(schema);
  return found;
}

/** Every `parameters.a.b` (and `steps.apply.output.x`) path used in a string. */
function references(text: string, prefix: string): string[][] {
  const re = new RegExp(`${prefix.replace(/\./g, '\\.')}\\.([A-Za-z_][\\w]*(?:\\.[A-Za-z_][\\w]*)*)`, 'g');
  return [...text.matchAll(re)].map(m => m[1].split('.'));
}

describe('templates/add-dex-auth', () => {
  const template = yaml.parse(fs.readFileSync(TEMPLATE_PATH, 'utf8'));

  it('is a valid scaffolder.backstage.io/v1beta3 Template', async () => {
    expect(template.metadata.name).toBe('add-dex-auth');
    expect(template.metadata.title).toBe('Add Dex auth');
    expect(await templateEntityV1beta3Validator.check(template)).toBe(true);
    expect(template.spec.parameters.map((p: { title: string }) => p.title)).toEqual(['Target', 'Dex']);
    expect(template.spec.steps.map((s: { action: string }) => s.action)).toEqual(['dex:pack:apply']);
  });

  it('uses only parameters it defines', () => {
    const root: JsonSchema = { properties: {} };
    for (const step of template.spec.parameters) Object.assign(root.properties!, step.properties);
    const used = references(JSON.stringify([template.spec.steps, template.spec.output]), 'parameters');
    expect(used.length).toBeGreaterThan(10);
    for (const refPath of used) {
      let candidates: JsonSchema[] = [root];
      for (const segment of refPath) {
        candidates = candidates.flatMap(c => propertiesOf(c).get(segment) ?? []);
        expect({ ref: `parameters.${refPath.join('.')}`, defined: candidates.length > 0 }).toEqual({
          ref: `parameters.${refPath.join('.')}`,
          defined: true,
        });
      }
    }
  });

  it("reads only outputs the action declares, and gives only inputs it accepts", () => {
    const action = createDexPackApplyAction({ config: new ConfigReader({}) });
    const outputs = Object.keys((action.schema?.output as JsonSchema).properties ?? {});
    for (const [name] of references(JSON.stringify(template.spec.output), 'steps.apply.output')) {
      expect(outputs).toContain(name);
    }
    const inputs = propertiesOf(action.schema?.input as JsonSchema);
    const given = template.spec.steps[0].input;
    for (const key of Object.keys(given)) expect(inputs.has(key)).toBe(true);
    for (const section of ['dex', 'authenticator'] as const) {
      const accepted = propertiesOf(inputs.get(section)![0]);
      for (const key of Object.keys(given[section])) expect(`${section}.${key}: ${accepted.has(key)}`).toBe(`${section}.${key}: true`);
    }
  });
});
