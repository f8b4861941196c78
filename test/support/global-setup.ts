import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startDynamoDbLocal } from '../../infra/local/dynamodb';
import { buildWebAppIfStale } from './web';

/** The part of Jest's global configuration read here. */
interface RunConfig {
  readonly maxWorkers: number;
  /** The paths given on the command line, as one pattern ('' for every suite). */
  readonly testPathPattern: string;
}

/**
 * One DynamoDB Local for the whole integration run (it takes seconds to start); each test file starts its
 * own local cloud on a free port with its own table and configuration. With AWS_ENDPOINT_URL set, the
 * tests run against that endpoint instead and nothing is started here.
 *
 * The test files run in two workers (jest.config.js): web/dist is built here, once, before they start, when
 * the run has browser suites and it is stale, so two browser suites never build it at the same time (vite
 * empties web/dist first, and the other one would be serving it).
 */
export default async function globalSetup(globalConfig: RunConfig): Promise<void> {
  if (globalConfig.maxWorkers > 1 && runsBrowserSuites(globalConfig.testPathPattern)) buildWebAppIfStale();
  if (process.env.AWS_ENDPOINT_URL) return;
  const dynamo = await startDynamoDbLocal();
  process.env.DYNAMODB_LOCAL_ENDPOINT = dynamo.endpoint;
  (globalThis as { __dynamoDbLocal?: typeof dynamo }).__dynamoDbLocal = dynamo;
}

/** Whether the paths asked for (none: every suite) include one of the browser suites (test/e2e/web*.test.ts). */
function runsBrowserSuites(pattern: string): boolean {
  if (!pattern) return true;
  const e2e = resolve(__dirname, '..', 'e2e');
  const matches = new RegExp(pattern, 'i');
  return readdirSync(e2e).some((file) => file.startsWith('web') && matches.test(join(e2e, file)));
}
