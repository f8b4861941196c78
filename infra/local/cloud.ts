import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type Config, loadConfig, requireJwtSecret } from '../../shared/config';
import { APP_FUNCTIONS, AUTHORIZER, FANOUT_BATCH_SIZE, FANOUT_WORKER_CONCURRENCY, LOCAL_RESOURCE_NAMES, routeTable } from '../functions';
import { DynamoDbProxy, type DynamoDbLocal, ensureTable, startDynamoDbLocal } from './dynamodb';
import { createEdgeServer, type EdgeService } from './edge';
import { ExternalDriver } from './external-driver';
import { FaultInjector } from './faults';
import { DEFAULT_MAX_SEND_BUFFER_BYTES, LocalWebSocketGateway } from './gateway';
import { LocalLambdaHost } from './lambda-host';
import { LOCAL_OIDC_KIND_CLAIM, LOCAL_OIDC_PATH, LOCAL_OIDC_TOKEN_SECONDS, LocalOidcIssuer } from './oidc';
import { LOCAL_REGION, localFunctionArn } from './lambdas';
import { provisionComplianceExport, provisionResources } from './provision';
import { LocalScheduler } from './scheduler';
import { LocalS3 } from './s3';
import { isLoopback } from './loopback';
import { SignatureGuard } from './sigv4';
import { LocalSqs } from './sqs';
import { LocalWebApp } from './web';

/** The development secret of the local cloud (SPEC §1); a deployment reads its own from a secret store. */
export const LOCAL_JWT_SECRET = 'local-development-secret-change-me';

/** Concurrent fan-out worker invocations in the local cloud: Lambda's SQS poller's first five batches. */
export const LOCAL_FANOUT_WORKER_CONCURRENCY = 5;

export interface LocalCloudOptions {
  /** Default: PORT or 3001; 0 picks a free port (tests). */
  readonly port?: number;
  /** A loopback address (default 127.0.0.1; HOST when it is one). Any other needs `expose`. */
  readonly host?: string;
  /**
   * Listen beyond loopback (`npm start -- --expose`): on `host`, else HOST, else 0.0.0.0. Everything but
   * `/local/token` is then reachable from the network; without it a non-loopback HOST is ignored.
   */
  readonly expose?: boolean;
  /** Keep nothing on disk: the compliance export goes to a temporary directory removed at stop. */
  readonly inMemory?: boolean;
  /** Where state lives unless in memory (default `.data`). */
  readonly dataDir?: string;
  /** Use this running DynamoDB Local instead of starting one (tests share one). */
  readonly dynamoEndpoint?: string;
  /** Overrides for the handlers' configuration, e.g. `{ CONVERSATION_IDLE_SECONDS: '2' }`. */
  readonly env?: Readonly<Record<string, string>>;
  /** API Gateway's limits, shortened in tests. */
  readonly idleTimeoutSeconds?: number;
  readonly maxConnectionSeconds?: number;
  /** A connection with more unsent bytes is dropped (API Gateway's slow consumer; default 8 MiB). */
  readonly maxSendBufferBytes?: number;
  /** Backoff base of the local Scheduler's retries of a failing target (default 1 s). */
  readonly schedulerRetryBaseDelayMs?: number;
  /** The compliance queue's visibility timeout (default 30 s; tests shorten redelivery). */
  readonly complianceVisibilitySeconds?: number;
  /** The fan-out queue's visibility timeout (default FANOUT_VISIBILITY_SECONDS; tests shorten a failed shard's retry). */
  readonly fanOutVisibilitySeconds?: number;
  /** Batches of shards the fan-out workers run at once (default LOCAL_FANOUT_WORKER_CONCURRENCY). */
  readonly fanOutWorkerConcurrency?: number;
  /** An emulator (LocalStack, moto) for every AWS service (default: AWS_ENDPOINT_URL when set before start); not AWS itself. */
  readonly externalEndpoint?: string;
}

export interface LocalCloud {
  /** `http://host:port`: every emulated AWS service (AWS_ENDPOINT_URL) and the management API. */
  readonly url: string;
  /** `ws://host:port`: the WebSocket API. */
  readonly wsUrl: string;
  readonly port: number;
  readonly config: Config;
  readonly lambdas: LocalLambdaHost;
  readonly gateway: LocalWebSocketGateway;
  /** The emulated SQS and Scheduler (absent with an external endpoint). */
  readonly sqs?: LocalSqs;
  readonly scheduler?: LocalScheduler;
  /** The emulated S3 (absent with an external endpoint). */
  readonly s3?: LocalS3;
  /**
   * With an external endpoint: what the emulator does not do (fire the group's schedules into the in-process
   * functions, poll the compliance queue into its consumer), done here (external-driver.ts).
   */
  readonly driver?: ExternalDriver;
  /** The local OpenID Connect issuer at `{url}/oidc` (infra/local/oidc.ts), whose RS256 ID tokens the authorizer takes. */
  readonly oidc: LocalOidcIssuer;
  /** Fault injection on every port (first on the edge; idle unless a test injects): docs/reliability.md. */
  readonly faults: FaultInjector;
  /** Set when the AWS services are an external emulator (AWS_ENDPOINT_URL given before start). */
  readonly externalEndpoint?: string;
  /** The address listened on, and whether it is beyond loopback (`expose`). */
  readonly host: string;
  readonly exposed: boolean;
  /** Where the compliance export writes (a temporary directory in memory, removed at stop). */
  readonly complianceExportDir: string;
  /** What the banner must say: a HOST ignored, the exposure. */
  readonly warnings: readonly string[];
  stop(): Promise<void>;
}

const ROOT_DIR = resolve(__dirname, '..', '..');

/**
 * Starts the whole backend on this machine: DynamoDB Local, the emulated AWS services on one endpoint,
 * and the app's own handlers in process. With AWS_ENDPOINT_URL already set, only the WebSocket gateway
 * and the handlers run here, every AWS call goes to that emulator (LocalStack, moto), and the schedules and the
 * compliance queue it stores are driven from here (external-driver.ts).
 */
export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const externalEndpoint = options.externalEndpoint ?? process.env.AWS_ENDPOINT_URL;
  const { host, exposed, warnings } = listenAddress(options);
  const dataDir = options.inMemory ? undefined : resolve(options.dataDir ?? '.data');
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  // The export holds message contents: in memory it goes to a temporary directory, removed at stop.
  const exportDirGiven = options.env?.COMPLIANCE_EXPORT_DIR ?? process.env.COMPLIANCE_EXPORT_DIR;
  const temporaryExportDir = exportDirGiven === undefined && !dataDir ? mkdtempSync(join(tmpdir(), 'uc-compliance-')) : undefined;
  const complianceExportDir = resolve(exportDirGiven ?? temporaryExportDir ?? join(dataDir!, 'compliance'));
  const removeTemporaryExportDir = () => {
    if (temporaryExportDir) rmSync(temporaryExportDir, { recursive: true, force: true });
  };

  // The port opens before provisioning (the SDK clients need it), but nothing of the app answers before it is
  // ready: WebSocket upgrades and unsigned HTTP requests wait for `ready`; signed ones are provisioning's own.
  let markReady!: () => void;
  let markFailed!: (error: unknown) => void;
  const ready = new Promise<void>((resolveReady, rejectReady) => {
    markReady = resolveReady;
    markFailed = rejectReady;
  });
  ready.catch(() => undefined);
  const services: EdgeService[] = [];
  const server = createEdgeServer(() => services, ready);
  const requestedPort = options.port ?? Number(process.env.PORT ?? 3001);
  try {
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(requestedPort, host, () => resolveListen());
    });
  } catch (error) {
    removeTemporaryExportDir();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : isIP(host) === 6 ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}`;

  let dynamo: DynamoDbLocal | undefined;
  let sqs: LocalSqs | undefined;
  let scheduler: LocalScheduler | undefined;
  let s3: LocalS3 | undefined;
  let driver: ExternalDriver | undefined;
  try {
    // The handlers' environment: the production SDK clients, pointed at this endpoint.
    Object.assign(process.env, {
      AWS_REGION: process.env.AWS_REGION ?? LOCAL_REGION,
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'local',
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
      AUTH_JWT_SECRET: process.env.AUTH_JWT_SECRET ?? LOCAL_JWT_SECRET,
      // Node 20 is this machine's runtime; the SDK's notice about its future support is noise here.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
      // Join links open the web app this cloud serves (SPEC §9), unless `env` names another (main.ts passes the shell's).
      WEB_APP_URL: url,
      ...(options.env ?? {}),
      COMPLIANCE_EXPORT_DIR: complianceExportDir,
      AWS_ENDPOINT_URL: externalEndpoint ?? url,
      WS_MANAGEMENT_ENDPOINT: url,
    });
    const awsEndpoint = externalEndpoint ?? url;
    const lambdas = new LocalLambdaHost([AUTHORIZER, ...APP_FUNCTIONS], ROOT_DIR);
    // Only the local credentials sign requests this endpoint accepts (the SDK and the AWS CLI sign anyway).
    const credentials = { [process.env.AWS_ACCESS_KEY_ID!]: process.env.AWS_SECRET_ACCESS_KEY! };
    const gateway = new LocalWebSocketGateway({
      invoker: lambdas,
      routes: routeTable(),
      authorizer: AUTHORIZER.name,
      idleTimeoutSeconds: options.idleTimeoutSeconds ?? 600,
      maxConnectionSeconds: options.maxConnectionSeconds ?? 7200,
      maxSendBufferBytes: options.maxSendBufferBytes ?? DEFAULT_MAX_SEND_BUFFER_BYTES,
    });
    gateway.attach(server, ready);
    // Every service (the management API and the DynamoDB pass-through too) takes requests signed with the local
    // credentials only; S3 checks its own, to answer in XML.
    services.push(new SignatureGuard(credentials, (request) => s3?.claims(request) ?? false), gateway);

    if (!externalEndpoint) {
      if (!options.dynamoEndpoint) dynamo = await startDynamoDbLocal({ dataDir: dataDir && join(dataDir, 'dynamodb') });
      sqs = new LocalSqs({ endpointUrl: () => url, dataDir });
      scheduler = new LocalScheduler({ invoker: lambdas, sqs, dataDir, retryBaseDelayMs: options.schedulerRetryBaseDelayMs });
      // S3 last: it claims paths by bucket name, so the services that route on headers or fixed paths go first.
      s3 = new LocalS3({ dataDir, credentials });
      services.push(new DynamoDbProxy(options.dynamoEndpoint ?? dynamo!.endpoint), sqs, scheduler, s3);
      scheduler.start();
    }

    const resources = await provisionResources(awsEndpoint, options.complianceVisibilitySeconds, options.fanOutVisibilitySeconds);
    Object.assign(process.env, {
      COMPLIANCE_QUEUE_URL: resources.complianceQueueUrl,
      FANOUT_QUEUE_URL: resources.fanOutQueueUrl,
      SCHEDULE_GROUP: resources.scheduleGroup,
      TIMER_FUNCTION_ARN: localFunctionArn('timer'),
      SCHEDULER_ROLE_ARN: LOCAL_RESOURCE_NAMES.schedulerRoleArn,
      TIMER_DLQ_ARN: resources.timerDeadLetterQueueArn,
      FILES_BUCKET: resources.filesBucket,
    });
    const config = loadConfig(process.env);
    await ensureTable(new DynamoDBClient({ endpoint: awsEndpoint }), config.TABLE_NAME);
    // After the table: the export's first firing reads it.
    await provisionComplianceExport(awsEndpoint, config.COMPLIANCE_EXPORT_SECONDS, !externalEndpoint);

    // Lambda's SQS event source: the compliance consumer, with partial batch responses.
    sqs?.addEventSourceMapping(
      { queueName: LOCAL_RESOURCE_NAMES.complianceQueue, functionName: 'compliance-consumer', batchSize: 10, reportBatchItemFailures: true },
      lambdas,
    );
    // The fan-out workers: several batches of shards at once, as Lambda's SQS poller runs them (it starts with five
    // concurrent batches and scales out to the maximum concurrency). Here five: every invocation shares this process's
    // two cores and one socket pool of the management client, so more would only queue posts until they time out.
    const fanOutMapping = {
      functionName: 'fanout-worker',
      batchSize: FANOUT_BATCH_SIZE,
      reportBatchItemFailures: true,
      maximumConcurrency: Math.min(FANOUT_WORKER_CONCURRENCY, options.fanOutWorkerConcurrency ?? LOCAL_FANOUT_WORKER_CONCURRENCY),
    };
    sqs?.addEventSourceMapping({ queueName: LOCAL_RESOURCE_NAMES.fanOutQueue, ...fanOutMapping }, lambdas);
    if (externalEndpoint) {
      // The emulator stores schedules and queues; firing them and Lambda's event source mapping happen here.
      driver = new ExternalDriver({ endpoint: externalEndpoint, invoker: lambdas, scheduleGroup: resources.scheduleGroup, retryBaseDelayMs: options.schedulerRetryBaseDelayMs });
      driver.addEventSourceMapping({ queueUrl: resources.complianceQueueUrl, queueArn: resources.complianceQueueArn, functionName: 'compliance-consumer', batchSize: 10 });
      driver.addEventSourceMapping({ queueUrl: resources.fanOutQueueUrl, queueArn: resources.fanOutQueueArn, functionName: 'fanout-worker', batchSize: FANOUT_BATCH_SIZE });
      driver.start();
    }

    // The local OIDC issuer, trusted by the authorizer next to HS256 tokens (set before its first, lazy, load).
    const oidc = await LocalOidcIssuer.start({
      issuer: `${url}${LOCAL_OIDC_PATH}`,
      tokenSeconds: Math.min(LOCAL_OIDC_TOKEN_SECONDS, config.TOKEN_MAX_LIFETIME_SECONDS),
    });
    const oidcEnv: Record<string, string> = { OIDC_ISSUER: oidc.issuer, OIDC_AUDIENCE: oidc.clientId, OIDC_KIND_CLAIM: LOCAL_OIDC_KIND_CLAIM };
    for (const [key, value] of Object.entries(oidcEnv)) process.env[key] = options.env?.[key] ?? value;
    // The browser app, its config.json and its development sign-ins next: they claim only unsigned requests of their own paths.
    const web = new LocalWebApp({
      jwtSecret: requireJwtSecret(config),
      wsUrl: `ws://${url.slice('http://'.length)}`,
      oidc: { issuer: process.env.OIDC_ISSUER!, clientId: process.env.OIDC_AUDIENCE ?? oidc.clientId },
    });
    services.unshift(web, oidc);
    // First of all: a fault takes a request before any service (the management API included) sees it.
    const faults = new FaultInjector(() => services);
    services.unshift(faults);
    markReady();

    return {
      url,
      wsUrl: `ws://${url.slice('http://'.length)}`,
      port,
      config,
      lambdas,
      gateway,
      sqs,
      scheduler,
      s3,
      driver,
      oidc,
      faults,
      externalEndpoint,
      host,
      exposed,
      complianceExportDir,
      warnings,
      stop: async () => {
        faults.clear();
        await driver?.stop();
        await scheduler?.stop();
        await sqs?.stop();
        await gateway.close();
        server.closeAllConnections();
        await new Promise<void>((done) => server.close(() => done()));
        await dynamo?.stop();
        removeTemporaryExportDir();
      },
    };
  } catch (error) {
    markFailed(error);
    await driver?.stop();
    await scheduler?.stop();
    await sqs?.stop();
    server.closeAllConnections();
    server.close();
    await dynamo?.stop();
    removeTemporaryExportDir();
    throw error;
  }
}

/**
 * Loopback only, unless `expose` says otherwise: a HOST such as 0.0.0.0 would put every service, and a sign-in
 * that mints admin tokens, on the network. Without `expose` a non-loopback HOST is ignored (with a warning) and
 * a non-loopback `host` option is an error.
 */
function listenAddress(options: LocalCloudOptions): { host: string; exposed: boolean; warnings: string[] } {
  const fromEnv = process.env.HOST;
  if (options.expose) {
    const host = options.host ?? fromEnv ?? '0.0.0.0';
    const exposed = !isLoopback(host);
    return {
      host,
      exposed,
      warnings: exposed ? [`listening on ${host} (--expose): the local cloud's services are reachable from the network; /local/token still answers loopback only`] : [],
    };
  }
  if (options.host !== undefined) {
    if (!isLoopback(options.host)) throw new Error(`host ${options.host} is not a loopback address: pass expose (npm start -- --expose) to listen beyond this machine`);
    return { host: options.host, exposed: false, warnings: [] };
  }
  if (fromEnv !== undefined && fromEnv !== '' && !isLoopback(fromEnv)) {
    return { host: '127.0.0.1', exposed: false, warnings: [`HOST=${fromEnv} ignored: listening on 127.0.0.1 (loopback) only; npm start -- --expose listens on HOST`] };
  }
  return { host: fromEnv || '127.0.0.1', exposed: false, warnings: [] };
}
