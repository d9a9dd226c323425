import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type {
  BackstageCredentials,
  LoggerService,
} from '@backstage/backend-plugin-api';
import type { JsonObject, JsonValue } from '@backstage/types';
import type {
  ActionContext,
  TemplateAction,
} from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

/** A logger that keeps every message (with its level), for assertions. */
export function recordingLogger(
  lines: string[] = [],
): LoggerService & { lines: string[] } {
  const at = (level: string) => (message: string, meta?: unknown) => {
    lines.push(`${level}: ${message}${meta ? ` ${JSON.stringify(meta)}` : ''}`);
  };
  const logger: LoggerService & { lines: string[] } = {
    lines,
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    child: () => logger,
  };
  return logger;
}

// One folder per test file holds every workspace and temporary folder made below, removed after
// the file's tests (thousands were left in /tmp otherwise).
let scratchRoot: Promise<string> | undefined;
afterAll(async () => {
  if (scratchRoot)
    await fs.rm(await scratchRoot, { recursive: true, force: true });
});

async function scratchDir(prefix: string): Promise<string> {
  scratchRoot ??= fs.mkdtemp(path.join(os.tmpdir(), 'dex-action-'));
  return fs.mkdtemp(path.join(await scratchRoot, prefix));
}

export interface MockRun {
  // The handler under test declares its own input type; the mock serves any.
  ctx: ActionContext<any, any>;
  outputs: Record<string, JsonValue>;
  logs: string[];
  checkpoints: Map<string, JsonValue | void>;
}

/**
 * A hand-built ActionContext (the scaffolder's test utils are not installable here): records
 * outputs and logs; checkpoints behave like a task's, returning the stored value on a second call.
 */
export async function mockContext(options: {
  input: JsonObject;
  workspacePath?: string;
  isDryRun?: boolean;
  credentials?: BackstageCredentials;
  checkpoints?: Map<string, JsonValue | void>;
}): Promise<MockRun> {
  const outputs: Record<string, JsonValue> = {};
  const logger = recordingLogger();
  const checkpoints = options.checkpoints ?? new Map();
  const workspacePath =
    options.workspacePath ?? (await scratchDir('workspace-'));
  const ctx: ActionContext<any, any> = {
    input: options.input,
    logger,
    workspacePath,
    secrets: {},
    task: { id: 'task-1' },
    isDryRun: options.isDryRun ?? false,
    output: (name, value) => {
      outputs[name as string] = value as JsonValue;
    },
    checkpoint: async ({ key, fn }) => {
      if (checkpoints.has(key)) return checkpoints.get(key) as never;
      const value = await fn();
      checkpoints.set(key, JSON.parse(JSON.stringify(value ?? {})));
      return value;
    },
    createTemporaryDirectory: () => scratchDir('tmp-'),
    getInitiatorCredentials: async () =>
      options.credentials ??
      ({
        $$type: '@backstage/BackstageCredentials',
        principal: { type: 'user', userEntityRef: 'user:default/mock' },
      } as BackstageCredentials),
    templateInfo: { entityRef: 'template:default/test' },
  };
  return { ctx, outputs, logs: logger.lines, checkpoints };
}

/** Runs an action's handler with a mock context. */
export async function runAction(
  action: TemplateAction<any, any, any>,
  options: Parameters<typeof mockContext>[0],
) {
  const run = await mockContext(options);
  await action.handler(run.ctx);
  return run;
}

/** The input of the only step of an example. */
export function exampleInput(example: { example: string }): JsonObject {
  const doc = yaml.parse(example.example) as { steps: { input: JsonObject }[] };
  expect(doc.steps).toHaveLength(1);
  return doc.steps[0].input;
}
