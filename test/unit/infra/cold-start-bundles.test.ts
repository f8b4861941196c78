/**
 * What the connection-path functions load at init (issue 21 item 3; docs/performance.md, "Bundles and init"): their
 * bundles, built as the CDK builds them, hold neither the full zod (zod/mini only) nor Powertools' Tracer and the X-Ray
 * SDK. An import of the full zod somewhere on their path (a shared module's `import { z } from 'zod'`) fails here.
 */
import { build } from 'esbuild';
import { join } from 'node:path';
import { BUILD_OPTIONS } from '../../../bench/bundles';
import { APP_FUNCTIONS, AUTHORIZER } from '../../../infra/functions';

const ROOT = join(__dirname, '..', '..', '..');
const CONNECTION_PATH = ['authorizer', 'connect', 'disconnect', 'default', 'system'];

/** The modules in each bundle, by entry file: one esbuild run for all of them, with the CDK's options (as the bench). */
async function bundledModules(entries: readonly string[]): Promise<Map<string, string[]>> {
  const result = await build({ ...BUILD_OPTIONS, entryPoints: entries.map((entry) => join(ROOT, entry)), metafile: true, write: false, outdir: 'bundles' });
  const modules = new Map<string, string[]>();
  for (const output of Object.values(result.metafile.outputs)) {
    if (output.entryPoint) modules.set(output.entryPoint.replace(/^.*?(functions\/)/, '$1'), Object.keys(output.inputs));
  }
  return modules;
}

const specOf = (name: string) => [AUTHORIZER, ...APP_FUNCTIONS].find((candidate) => candidate.name === name)!;
let bundles: Map<string, string[]>;

beforeAll(async () => {
  // presence: a function that traces and parses commands, so the checks below are seen to find what they look for.
  bundles = await bundledModules([...CONNECTION_PATH, 'presence'].map((name) => specOf(name).entry));
}, 60_000);

const FULL_ZOD = /node_modules\/zod\/v4\/classic\//;
const TRACER = /node_modules\/(@aws-lambda-powertools\/tracer|aws-xray-sdk-core)\//;

test.each(CONNECTION_PATH)('the %s bundle holds no full zod, no Tracer, no X-Ray SDK', (name) => {
  const inputs = bundles.get(specOf(name).entry)!;

  expect(inputs.length).toBeGreaterThan(0);
  expect(inputs.filter((input) => FULL_ZOD.test(input))).toEqual([]);
  expect(inputs.filter((input) => TRACER.test(input))).toEqual([]);
});

test('the check itself: a function that traces and parses commands holds both', () => {
  const inputs = bundles.get(specOf('presence').entry)!;

  expect(inputs.some((input) => FULL_ZOD.test(input))).toBe(true);
  expect(inputs.some((input) => TRACER.test(input))).toBe(true);
});
