import crypto from 'node:crypto';
import YAML from 'yaml';

/** YAML texts by a digest of their document's JSON; a few installations' configs at once. */
const yamlTexts = new Map<string, string>();
const MAX_YAML_TEXTS = 32;

/**
 * The YAML of a config document, made once per content: an unchanged re-run renders the same
 * configs again, and the YAML library costs far more than JSON and a digest. The texts may hold
 * client secrets: kept in this process only (as the key pool keeps keys), bounded, never logged.
 */
export function configYamlOf(doc: unknown): string {
  const digest = crypto
    .createHash('sha256')
    .update(JSON.stringify(doc))
    .digest('base64');
  let text = yamlTexts.get(digest);
  if (text === undefined) {
    text = YAML.stringify(doc, { lineWidth: 0 });
    if (yamlTexts.size >= MAX_YAML_TEXTS)
      yamlTexts.delete(yamlTexts.keys().next().value!);
    yamlTexts.set(digest, text);
  }
  return text;
}
