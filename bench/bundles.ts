/**
 * Bundle size and module initialisation per function, as the CDK builds them (esbuild, minified, node22, CJS, the
 * SDK's ES module builds): the cold-start proxy of docs/performance.md. `npm run bench` prints it; on its own:
 * `npx tsx bench/bundles.ts [--json]` (init = `require` of the bundle in a fresh node, median of 5, without and
 * with the Lambda environment; BUNDLE_INIT_RUNS for more); `--save <dir>` and `--against <dir>` for before and after.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { APP_FUNCTIONS, AUTHORIZER } from '../infra/functions';

const ROOT = resolve(__dirname, '..');

/** The CDK's bundling of every function (infra/constructs/app-function.ts): minified CJS for node22, ES module builds of the SDK first. */
export const BUILD_OPTIONS: BuildOptions = { bundle: true, platform: 'node', target: 'node22', format: 'cjs', minify: true, mainFields: ['module', 'main'], logLevel: 'silent' };

export interface BundleMeasure {
  readonly name: string;
  readonly bytes: number;
  /** `require` of the bundle as the local cloud and tests run it (no Lambda environment). */
  readonly initMs: number;
  /** The same with AWS_LAMBDA_FUNCTION_NAME set, as on Lambda: Powertools Tracer and Metrics are loaded too. */
  readonly lambdaInitMs: number;
  /** The heavy packages in the bundle (AWS SDK clients, Powertools, X-Ray), by name. */
  readonly loads: readonly string[];
}

const BASE_ENV = { AUTH_JWT_SECRET: 'bench-secret-of-enough-length', AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
const LOCAL_ENV = Object.fromEntries(Object.entries({ ...process.env, ...BASE_ENV }).filter(([key]) => key !== 'AWS_LAMBDA_FUNCTION_NAME'));
const LAMBDA_ENV = { ...LOCAL_ENV, AWS_LAMBDA_FUNCTION_NAME: 'bench', AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x' };

/**
 * Milliseconds to `require` a bundle in a fresh node: one sample. BUNDLE_INIT_CLOCK=cpu counts the process's CPU
 * time (user + system) instead of the wall clock: on a machine shared with other work, the wall clock mostly
 * measures the others.
 */
export function requireMs(file: string, lambda: boolean): number {
  const cpu = process.env.BUNDLE_INIT_CLOCK === 'cpu';
  const script = cpu
    ? `const c=process.cpuUsage();require(${JSON.stringify(file)});const d=process.cpuUsage(c);console.log((d.user+d.system)/1e3)`
    : `const t=process.hrtime.bigint();require(${JSON.stringify(file)});console.log(Number(process.hrtime.bigint()-t)/1e6)`;
  return Number(execFileSync(process.execPath, ['-e', script], { env: lambda ? LAMBDA_ENV : LOCAL_ENV }).toString().trim());
}

/** Packages worth naming in "what each function loads" (and zod, below). */
const NOTABLE = /node_modules\/((?:@aws-sdk\/(?:client-[a-z0-9-]+|lib-dynamodb|s3-request-presigner))|@aws-lambda-powertools\/[a-z-]+|aws-xray-sdk-core|jose)\//;

function notablePackages(metafile: Metafile): string[] {
  const found = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const match = NOTABLE.exec(input);
    if (match) found.add(match[1]!);
    // The full zod (its classic API, about 450 KiB with its locales) or zod/mini only.
    if (input.includes('node_modules/zod/v4/classic/')) found.add('zod');
    if (input.includes('node_modules/zod/v4/mini/')) found.add('zod/mini');
  }
  return [...found].sort();
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function measureBundles(runs = Number(process.env.BUNDLE_INIT_RUNS ?? 5)): Promise<BundleMeasure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'uc-bundles-'));
  const measures: BundleMeasure[] = [];
  for (const spec of [AUTHORIZER, ...APP_FUNCTIONS]) {
    const outfile = join(dir, `${spec.name}.js`);
    const result = await build({ ...BUILD_OPTIONS, entryPoints: [join(ROOT, spec.entry)], outfile, metafile: true });
    const local: number[] = [];
    const lambda: number[] = [];
    for (let run = 0; run < runs; run++) {
      local.push(requireMs(outfile, false));
      lambda.push(requireMs(outfile, true));
    }
    measures.push({ name: spec.name, bytes: statSync(outfile).size, initMs: median(local), lambdaInitMs: median(lambda), loads: notablePackages(result.metafile) });
  }
  return measures;
}

/** The table rows of docs/performance.md. */
export function bundleRows(measures: readonly BundleMeasure[]): string[] {
  return measures.map((m) => `| ${m.name} | ${(m.bytes / 1024).toFixed(0)} KiB | ${m.initMs.toFixed(0)} ms | ${m.lambdaInitMs.toFixed(0)} ms | ${m.loads.join(', ') || '(none)'} |`);
}

/**
 * Before and after: the bundles of another tree (or of this one before a change), saved with `--save <dir>`, are
 * timed interleaved with this tree's (`--against <dir>`), so a loaded machine slows both alike.
 */
export async function compareBundles(beforeDir: string, runs = Number(process.env.BUNDLE_INIT_RUNS ?? 5)): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'uc-bundles-'));
  const rows: string[] = [];
  for (const spec of [AUTHORIZER, ...APP_FUNCTIONS]) {
    const after = join(dir, `${spec.name}.js`);
    const before = join(beforeDir, `${spec.name}.js`);
    await build({ ...BUILD_OPTIONS, entryPoints: [join(ROOT, spec.entry)], outfile: after });
    const hasBefore = existsSync(before);
    const samples = { beforeLocal: [] as number[], beforeLambda: [] as number[], afterLocal: [] as number[], afterLambda: [] as number[] };
    for (let run = 0; run < runs; run++) {
      if (hasBefore) {
        samples.beforeLocal.push(requireMs(before, false));
        samples.beforeLambda.push(requireMs(before, true));
      }
      samples.afterLocal.push(requireMs(after, false));
      samples.afterLambda.push(requireMs(after, true));
    }
    const kib = (file: string) => `${(statSync(file).size / 1024).toFixed(0)} KiB`;
    const ms = (values: number[]) => (values.length > 0 ? `${median(values).toFixed(0)} ms` : '–');
    const ratio = (a: number[], b: number[]) => (a.length > 0 ? `${((100 * median(b)) / median(a)).toFixed(0)} %` : '–');
    rows.push(
      `| ${spec.name} | ${hasBefore ? kib(before) : '–'} | ${kib(after)} | ${ms(samples.beforeLocal)} | ${ms(samples.afterLocal)} | ${ratio(samples.beforeLocal, samples.afterLocal)} | ${ms(samples.beforeLambda)} | ${ms(samples.afterLambda)} | ${ratio(samples.beforeLambda, samples.afterLambda)} |`,
    );
  }
  return rows;
}

/** Builds this tree's bundles into `dir`, for a later `--against`. */
export async function saveBundles(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const spec of [AUTHORIZER, ...APP_FUNCTIONS]) {
    await build({ ...BUILD_OPTIONS, entryPoints: [join(ROOT, spec.entry)], outfile: join(dir, `${spec.name}.js`) });
  }
}

// Run directly (`tsx bench/bundles.ts`), not when imported by bench/run.ts.
if (/bundles\.ts$/.test(process.argv[1] ?? '')) {
  const option = (name: string) => {
    const index = process.argv.indexOf(name);
    return index >= 0 ? process.argv[index + 1] : undefined;
  };
  const save = option('--save');
  const against = option('--against');
  const run = async () => {
    if (save) return saveBundles(save);
    if (against) {
      console.log('| function | bundle before | after | init before | after | after/before | Lambda env before | after | after/before |');
      console.log('|---|---|---|---|---|---|---|---|---|');
      for (const row of await compareBundles(against)) console.log(row);
      return;
    }
    const measures = await measureBundles();
    if (process.argv.includes('--json')) console.log(JSON.stringify(measures, null, 2));
    else for (const row of bundleRows(measures)) console.log(row);
  };
  void run();
}
