import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { Context } from 'aws-lambda';
import type { FunctionSpec } from '../functions';
import { functionNameFromArn, type LambdaInvoker, localFunctionArn } from './lambdas';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/**
 * Runs the app's real Lambda handlers in this process. Modules load on first invocation (a cold start),
 * after the local cloud has set the environment, so their module-scope SDK clients see the local endpoint.
 */
export class LocalLambdaHost implements LambdaInvoker {
  private readonly specs: ReadonlyMap<string, FunctionSpec>;
  private readonly handlers = new Map<string, Handler>();
  /** Counts per function, for tests and the benchmark. */
  readonly invocations = new Map<string, number>();

  constructor(
    functions: readonly FunctionSpec[],
    private readonly rootDir: string,
    private readonly timeoutMs = 30_000,
  ) {
    this.specs = new Map(functions.map((fn) => [fn.name, fn]));
  }

  async invoke(functionNameOrArn: string, event: unknown): Promise<unknown> {
    const name = functionNameFromArn(functionNameOrArn);
    const handler = this.load(name);
    this.invocations.set(name, (this.invocations.get(name) ?? 0) + 1);
    const deadline = Date.now() + this.timeoutMs;
    const context = {
      callbackWaitsForEmptyEventLoop: false,
      functionName: name,
      functionVersion: '$LATEST',
      invokedFunctionArn: localFunctionArn(name),
      memoryLimitInMB: '1024',
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/${name}`,
      logStreamName: 'local',
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    } satisfies Context;
    return handler(event, context);
  }

  /** Adds a function that is not part of the app (tests use it for probe targets). */
  register(name: string, handler: Handler): void {
    this.handlers.set(name, handler);
  }

  /**
   * Test hook: puts `wrapper` in front of a function, handing it the real handler, e.g. to answer one
   * invocation as an overloaded function would and let the next through.
   */
  wrap(name: string, wrapper: (real: Handler) => Handler): void {
    this.handlers.set(name, wrapper(this.load(name)));
  }

  private load(name: string): Handler {
    const loaded = this.handlers.get(name);
    if (loaded) return loaded;
    const spec = this.specs.get(name);
    if (!spec) throw new Error(`no local function named ${name}`);
    // require, not import(): the module system of both tsx and jest resolves TypeScript entries this way.
    const module = require(resolve(this.rootDir, spec.entry)) as { handler?: Handler };
    if (typeof module.handler !== 'function') throw new Error(`${spec.entry} exports no handler`);
    this.handlers.set(name, module.handler);
    return module.handler;
  }
}
