import { Duration, Stack } from 'aws-cdk-lib';
import type { IWebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IRole, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { join } from 'node:path';
import { FILE_KEY_PREFIX } from '../../shared/chat/files';
import { type FunctionSpec, queriesIndex, type TableStore, tableActionsOf } from '../functions';

export interface AppFunctionProps {
  readonly spec: FunctionSpec;
  /** Configuration of SPEC.md passed to every function (durations, HOME_DOMAIN, ...). */
  readonly environment: Readonly<Record<string, string>>;
  /** A fixed name, for a function whose ARN must be known before it exists (the timer target). */
  readonly functionName?: string;
  /** Reserved concurrency (infra/functions.ts, RESERVED_CONCURRENCY), when the deployment reserves. */
  readonly reservedConcurrency?: number;
}

const ROOT_DIR = join(__dirname, '..', '..');

/** What a function needs to arm timers: the app's schedule group, the timer function and the role Scheduler assumes. */
export interface TimerScheduling {
  readonly scheduleGroupName: string;
  readonly timerFunctionArn: string;
  readonly schedulerRole: IRole;
  readonly deadLetterQueue: IQueue;
}

/** An SQS queue a function consumes (an event source mapping with partial batch responses). */
export interface QueueConsumerOptions {
  readonly batchSize: number;
  /** None: a batch is handed over as soon as a message arrives (live delivery). */
  readonly maxBatchingWindow?: Duration;
  /** At least 2 (Lambda's floor for an SQS event source). */
  readonly maxConcurrency: number;
}

/**
 * Every function's defaults in one place: Node 22 on ARM64, an esbuild bundle with source maps that
 * holds only what the entry imports, active X-Ray tracing, a log group with retention, and a role of its
 * own that starts with nothing but writing to that log group: each grant is added by name (least privilege).
 * Each kind of resource has one `bind…` method that sets what the function's code reads from its environment and
 * grants exactly the calls it makes on that resource; the stack calls those its spec's `uses` names (a new kind
 * of resource: a `uses` key in infra/functions.ts, a `bind…` method here, its line in the stack's binders).
 */
export class AppFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly role: Role;

  constructor(scope: Construct, id: string, props: AppFunctionProps) {
    super(scope, id);
    const logGroup = new LogGroup(this, 'Logs', { retention: RetentionDays.ONE_MONTH });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `The ${props.spec.name} function: exactly the calls it makes`,
    });
    this.role.addToPolicy(new PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
    this.fn = new NodejsFunction(this, 'Function', {
      functionName: props.functionName,
      entry: join(ROOT_DIR, props.spec.entry),
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: 512,
      timeout: Duration.seconds(15),
      role: this.role,
      tracing: Tracing.ACTIVE,
      reservedConcurrentExecutions: props.reservedConcurrency,
      logGroup,
      environment: {
        ...props.environment,
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'uc-backend',
        POWERTOOLS_METRICS_NAMESPACE: 'UcBackend',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      bundling: {
        format: OutputFormat.CJS,
        target: 'node22',
        minify: true,
        sourceMap: true,
        // The ES module builds of the AWS SDK (its `module` field) rather than its CommonJS ones: esbuild then drops the
        // commands and serializers a function never calls, a third of each SDK client's bytes and of its init
        // (docs/performance.md, "Bundles and init"). bench/bundles.ts builds with the same options.
        mainFields: ['module', 'main'],
        // Bundle the pinned SDK rather than the runtime's, so what was tested is what runs.
        externalModules: [],
      },
      depsLockFilePath: join(ROOT_DIR, 'package-lock.json'),
      projectRoot: ROOT_DIR,
    });
    NagSuppressions.addResourceSuppressions(this.fn, [
      { id: 'AwsSolutions-L1', reason: 'Node 22 is pinned so the deployed runtime is the one the bundle targets and the tests run on; it moves with the toolchain.' },
    ]);
    NagSuppressions.addResourceSuppressions(
      this.role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason: 'X-Ray segments (PutTraceSegments, PutTelemetryRecords) have no resource-level permissions: AWS requires "*".',
          appliesTo: ['Resource::*'],
        },
        {
          id: 'AwsSolutions-IAM5',
          reason: 'Log streams are created per instance: the log group of this function only, its streams by wildcard.',
          appliesTo: [{ regex: '/^Resource::<.*Logs.*\\.Arn>:\\*$/g' }],
        },
      ],
      true,
    );
  }

  /**
   * The table: its name in the environment and exactly the item calls of the stores the function uses
   * (infra/functions.ts, STORE_TABLE_ACTIONS): no Scan, no streams, no table management.
   */
  bindTable(table: ITable, stores: readonly TableStore[]): void {
    const actions = tableActionsOf({ table: stores }).map((action) => `dynamodb:${action}`);
    if (actions.length === 0) return;
    this.fn.addEnvironment('TABLE_NAME', table.tableName);
    this.role.addToPolicy(new PolicyStatement({ actions, resources: [table.tableArn] }));
    // The index is only ever queried, and only by some stores.
    if (queriesIndex({ table: stores })) {
      this.role.addToPolicy(new PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${table.tableArn}/index/*`] }));
      this.suppressWildcard('Query on the table\'s global secondary indexes (GSI1): the index ARN ends in its name.', '/^Resource::.*\\/index\\/\\*$/g');
    }
  }

  /** The WebSocket management API (post to, get and delete connections) of this API's stage only. */
  bindConnections(api: IWebSocketApi, stage: WebSocketStage): void {
    this.fn.addEnvironment('WS_MANAGEMENT_ENDPOINT', stage.callbackUrl);
    const connections = Stack.of(this).formatArn({ service: 'execute-api', resource: api.apiId, resourceName: `${stage.stageName}/*/@connections/*` });
    this.role.addToPolicy(new PolicyStatement({ actions: ['execute-api:ManageConnections'], resources: [connections] }));
    this.suppressWildcard('Connections are identified at run time: this API and stage only.', '/^Resource::arn:.*:execute-api:.*\\/@connections\\/\\*$/g');
  }

  /**
   * Timers (shared/adapters/scheduler-timers.ts): create, update (recurring) and delete schedules in the app's
   * group only, and pass the Scheduler role (to Scheduler only) that invokes the timer function.
   */
  bindTimers(scheduling: TimerScheduling): void {
    this.fn.addEnvironment('SCHEDULE_GROUP', scheduling.scheduleGroupName);
    this.fn.addEnvironment('TIMER_FUNCTION_ARN', scheduling.timerFunctionArn);
    this.fn.addEnvironment('SCHEDULER_ROLE_ARN', scheduling.schedulerRole.roleArn);
    this.fn.addEnvironment('TIMER_DLQ_ARN', scheduling.deadLetterQueue.queueArn);
    const schedules = Stack.of(this).formatArn({ service: 'scheduler', resource: 'schedule', resourceName: `${scheduling.scheduleGroupName}/*` });
    this.role.addToPolicy(new PolicyStatement({ actions: ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:DeleteSchedule'], resources: [schedules] }));
    this.role.addToPolicy(
      new PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [scheduling.schedulerRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
    this.suppressWildcard("Timer schedules are named per subject at run time (shared/timers/schedule-names.ts), all in the app's group.", '/^Resource::arn:.*:scheduler:.*schedule\\/.*\\/\\*$/g');
  }

  /** The compliance queue, as a producer (shared/adapters/sqs-queue.ts). */
  bindComplianceQueue(queue: IQueue): void {
    this.bindQueueProducer(queue, 'COMPLIANCE_QUEUE_URL');
  }

  /** A queue the function sends to: its URL in `variable`, SendMessage on it only. */
  bindQueueProducer(queue: IQueue, variable: string): void {
    this.fn.addEnvironment(variable, queue.queueUrl);
    this.role.addToPolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }));
  }

  /**
   * Chat files: presigned PUT and GET URLs under the `rooms/` prefix. A presigned URL carries the signer's
   * permissions: exactly put and get of chat file objects. Its lifetime (FILE_URL_SECONDS) is capped by the role
   * session's (at most 12 hours, docs/deploy.md): within it here.
   */
  bindFilesBucket(bucket: IBucket): void {
    this.fn.addEnvironment('FILES_BUCKET', bucket.bucketName);
    this.role.addToPolicy(new PolicyStatement({ actions: ['s3:PutObject', 's3:GetObject'], resources: [bucket.arnForObjects(`${FILE_KEY_PREFIX}*`)] }));
    this.suppressWildcard('Chat file objects are keyed per room and file at run time, under the rooms/ prefix only.', '/^Resource::.*\\/rooms\\/\\*$/g');
  }

  /** The compliance archive: put only (each batch once, If-None-Match), never read or delete. */
  bindComplianceArchive(bucket: IBucket): void {
    this.fn.addEnvironment('COMPLIANCE_BUCKET', bucket.bucketName);
    this.role.addToPolicy(new PolicyStatement({ actions: ['s3:PutObject'], resources: [bucket.arnForObjects('compliance/*')] }));
    this.suppressWildcard('One object per export batch, named at run time under compliance/.', '/^Resource::.*\\/compliance\\/\\*$/g');
  }

  /** A secret the function reads at run time: its ARN (never its value) in `variable`, GetSecretValue on it only. */
  bindSecret(secret: ISecret, variable: string): void {
    this.fn.addEnvironment(variable, secret.secretArn);
    this.role.addToPolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }));
  }

  /** Consumes an SQS queue: the event source grants receive, delete and change visibility on that queue only. */
  bindQueueConsumer(queue: IQueue, options: QueueConsumerOptions): void {
    this.fn.addEventSource(
      new SqsEventSource(queue, {
        batchSize: options.batchSize,
        maxBatchingWindow: options.maxBatchingWindow,
        reportBatchItemFailures: true,
        maxConcurrency: Math.max(2, options.maxConcurrency),
      }),
    );
  }

  /** Invoked asynchronously: Lambda retries a failed invocation, then sends it (wrapped in `requestPayload`) to `queue`. */
  bindFailureDestination(queue: IQueue, retryAttempts: number): void {
    this.fn.configureAsyncInvoke({ onFailure: new SqsDestination(queue), retryAttempts, maxEventAge: Duration.hours(1) });
  }

  private suppressWildcard(reason: string, resourceRegex: string): void {
    NagSuppressions.addResourceSuppressions(this.role, [{ id: 'AwsSolutions-IAM5', reason, appliesTo: [{ regex: resourceRegex }] }], true);
  }
}
