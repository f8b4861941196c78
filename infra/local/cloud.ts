import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type Config, loadConfig, requireJwtSecret } from '../../shared/config';
import { APP_FUNCTIONS, AUTHORIZER, LOCAL_RESOURCE_NAMES, routeTable } from '../functions';
import { DynamoDbProxy, type DynamoDbLocal, ensureTable, startDynamoDbLocal } from './dynamodb';
import { createEdgeServer, type EdgeService } from './edge';
import { FaultInjector } from './faults';
import { LocalWebSocketGateway } from './gateway';
import { LocalLambdaHost } from './lambda-host';
import { LOCAL_REGION, localFunctionArn } from './lambdas';
import { provisionComplianceExport, provisionResources } from './provision';
import { LocalScheduler } from './scheduler';
import { LocalS3 } from './s3';
import { LocalSqs } from './sqs';
import { LocalWebApp } from './web';

/** The development secret of the local cloud (SPEC §1); a deployment reads its own from a secret store. */
export const LOCAL_JWT_SECRET = 'local-development-secret-change-me';

export interface LocalCloudOptions {
  /** Default: PORT or 3001; 0 picks a free port (tests). */
  readonly port?: number;
  readonly host?: string;
  /** Keep nothing on disk. */
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
  /** Backoff base of the local Scheduler's retries of a failing target (default 1 s). */
  readonly schedulerRetryBaseDelayMs?: number;
  /** The compliance queue's visibility timeout (default 30 s; tests shorten redelivery). */
  readonly complianceVisibilitySeconds?: number;
  /** LocalStack or AWS for every AWS service (default: AWS_ENDPOINT_URL when set before start). */
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
  /** Fault injection on every port (first on the edge; idle unless a test injects): docs/reliability.md. */
  readonly faults: FaultInjector;
  /** Set when the AWS services are LocalStack or AWS (AWS_ENDPOINT_URL given before start). */
  readonly externalEndpoint?: string;
  stop(): Promise<void>;
}

const ROOT_DIR = resolve(__dirname, '..', '..');

/**
 * Starts the whole backend on this machine: DynamoDB Local, the emulated AWS services on one endpoint,
 * and the app's own handlers in process. With AWS_ENDPOINT_URL already set, only the WebSocket gateway
 * and the handlers run here and every AWS call goes to that endpoint (LocalStack or AWS).
 */
export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const externalEndpoint = options.externalEndpoint ?? process.env.AWS_ENDPOINT_URL;
  const host = options.host ?? process.env.HOST ?? '127.0.0.1';
  const dataDir = options.inMemory ? undefined : resolve(options.dataDir ?? '.data');
  if (dataDir) mkdirSync(dataDir, { recursive: true });

  const services: EdgeService[] = [];
  const server = createEdgeServer(() => services);
  const requestedPort = options.port ?? Number(process.env.PORT ?? 3001);
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(requestedPort, host, () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${port}`;

  let dynamo: DynamoDbLocal | undefined;
  let sqs: LocalSqs | undefined;
  let scheduler: LocalScheduler | undefined;
  let s3: LocalS3 | undefined;
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
      ...(options.env ?? {}),
      AWS_ENDPOINT_URL: externalEndpoint ?? url,
      WS_MANAGEMENT_ENDPOINT: url,
    });
    const awsEndpoint = externalEndpoint ?? url;
    const lambdas = new LocalLambdaHost([AUTHORIZER, ...APP_FUNCTIONS], ROOT_DIR);

    if (!externalEndpoint) {
      if (!options.dynamoEndpoint) dynamo = await startDynamoDbLocal({ dataDir: dataDir && join(dataDir, 'dynamodb') });
      sqs = new LocalSqs({ endpointUrl: () => url, dataDir });
      scheduler = new LocalScheduler({ invoker: lambdas, sqs, dataDir, retryBaseDelayMs: options.schedulerRetryBaseDelayMs });
      // S3 last: it claims paths by bucket name, so the services that route on headers or fixed paths go first.
      s3 = new LocalS3({ dataDir, credentials: { [process.env.AWS_ACCESS_KEY_ID!]: process.env.AWS_SECRET_ACCESS_KEY! } });
      services.push(new DynamoDbProxy(options.dynamoEndpoint ?? dynamo!.endpoint), sqs, scheduler, s3);
      scheduler.start();
    }

    const resources = await provisionResources(awsEndpoint, options.complianceVisibilitySeconds);
    Object.assign(process.env, {
      COMPLIANCE_QUEUE_URL: resources.complianceQueueUrl,
      SCHEDULE_GROUP: resources.scheduleGroup,
      TIMER_FUNCTION_ARN: localFunctionArn('timer'),
      SCHEDULER_ROLE_ARN: LOCAL_RESOURCE_NAMES.schedulerRoleArn,
      TIMER_DLQ_ARN: resources.timerDeadLetterQueueArn,
      FILES_BUCKET: resources.filesBucket,
    });
    const config = loadConfig(process.env);
    await ensureTable(new DynamoDBClient({ endpoint: awsEndpoint }), config.TABLE_NAME);
    // After the table: the export's first firing reads it.
    await provisionComplianceExport(awsEndpoint, config.COMPLIANCE_EXPORT_SECONDS);

    // Lambda's SQS event source: the compliance consumer, with partial batch responses.
    sqs?.addEventSourceMapping(
      { queueName: LOCAL_RESOURCE_NAMES.complianceQueue, functionName: 'compliance-consumer', batchSize: 10, reportBatchItemFailures: true },
      lambdas,
    );

    const gateway = new LocalWebSocketGateway({
      invoker: lambdas,
      routes: routeTable(),
      authorizer: AUTHORIZER.name,
      idleTimeoutSeconds: options.idleTimeoutSeconds ?? 600,
      maxConnectionSeconds: options.maxConnectionSeconds ?? 7200,
    });
    gateway.attach(server);
    // The browser app and its development sign-in next: they claim only unsigned requests of their own paths.
    const web = new LocalWebApp({ jwtSecret: requireJwtSecret(config), wsUrl: `ws://${url.slice('http://'.length)}` });
    services.unshift(gateway, web);
    // First of all: a fault takes a request before any service (the management API included) sees it.
    const faults = new FaultInjector(() => services);
    services.unshift(faults);

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
      faults,
      externalEndpoint,
      stop: async () => {
        faults.clear();
        await scheduler?.stop();
        await sqs?.stop();
        await gateway.close();
        server.closeAllConnections();
        await new Promise<void>((done) => server.close(() => done()));
        await dynamo?.stop();
      },
    };
  } catch (error) {
    await scheduler?.stop();
    await sqs?.stop();
    server.close();
    await dynamo?.stop();
    throw error;
  }
}
