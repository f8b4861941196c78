import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { join } from 'node:path';
import type { FunctionSpec } from '../functions';

export interface AppFunctionProps {
  readonly spec: FunctionSpec;
  /** Configuration of SPEC.md passed to every function (durations, HOME_DOMAIN, ...). */
  readonly environment: Readonly<Record<string, string>>;
  /** A fixed name, for a function whose ARN must be known before it exists (the timer target). */
  readonly functionName?: string;
}

const ROOT_DIR = join(__dirname, '..', '..');

/**
 * Every function's defaults in one place: Node 22 on ARM64, an esbuild bundle with source maps that
 * holds only what the entry imports, a log group with retention, and the app's configuration.
 */
export class AppFunction extends Construct {
  readonly fn: NodejsFunction;

  constructor(scope: Construct, id: string, props: AppFunctionProps) {
    super(scope, id);
    this.fn = new NodejsFunction(this, 'Function', {
      functionName: props.functionName,
      entry: join(ROOT_DIR, props.spec.entry),
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: 512,
      timeout: Duration.seconds(15),
      logGroup: new LogGroup(this, 'Logs', { retention: RetentionDays.ONE_MONTH }),
      environment: {
        ...props.environment,
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'uc-backend',
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
  }

  /** Binds the table: its name in the environment and exactly the access the spec asks for. */
  bindTable(table: ITable, access: 'read' | 'readWrite'): void {
    this.fn.addEnvironment('TABLE_NAME', table.tableName);
    if (access === 'read') table.grantReadData(this.fn);
    else table.grantReadWriteData(this.fn);
  }
}
