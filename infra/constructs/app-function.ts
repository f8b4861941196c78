import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { join } from 'node:path';
import { type FunctionSpec, tableActionsOf } from '../functions';

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

/**
 * Every function's defaults in one place: Node 22 on ARM64, an esbuild bundle with source maps that
 * holds only what the entry imports, active X-Ray tracing, a log group with retention, and a role of its
 * own that starts with nothing but writing to that log group: each grant is added by name (least privilege).
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

  /** Binds the table: its name in the environment and exactly the item calls the function makes (no Scan, no streams). */
  bindTable(table: ITable, spec: FunctionSpec): void {
    this.fn.addEnvironment('TABLE_NAME', table.tableName);
    const actions = tableActionsOf(spec).map((action) => `dynamodb:${action}`);
    this.role.addToPolicy(new PolicyStatement({ actions, resources: [table.tableArn] }));
    // The index is only ever queried.
    if (actions.includes('dynamodb:Query')) {
      this.role.addToPolicy(new PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${table.tableArn}/index/*`] }));
      NagSuppressions.addResourceSuppressions(
        this.role,
        [{ id: 'AwsSolutions-IAM5', reason: 'Query on the table\'s global secondary indexes (GSI1): the index ARN ends in its name.', appliesTo: [{ regex: '/^Resource::.*\\/index\\/\\*$/g' }] }],
        true,
      );
    }
  }
}
