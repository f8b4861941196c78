import { ArnFormat, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { FilterPattern, MetricFilter } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Schedule, ScheduleExpression, ScheduleGroup, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { FILE_KEY_PREFIX } from '../../shared/chat/files';
import { AppFunction } from '../constructs/app-function';
import { loadConfig } from '../../shared/config';
import { APP_FUNCTIONS, AUTHORIZER, COMPLIANCE_EXPORT_SCHEDULE, type FunctionSpec } from '../functions';

export interface StatelessStackProps extends StackProps {
  readonly table: ITable;
  readonly jwtSecret: ISecret;
  readonly complianceQueue: IQueue;
  readonly timerDeadLetterQueue: IQueue;
  /** Chat files; functions whose spec `uses.files` presign URLs into it. */
  readonly filesBucket: IBucket;
  /** The compliance archive; functions whose spec `uses.complianceArchive` put batch objects into it. */
  readonly complianceBucket: IBucket;
  /** Overrides of SPEC.md's configuration (durations, HOME_DOMAIN). */
  readonly config?: Readonly<Record<string, string>>;
  readonly stageName?: string;
}

/**
 * The WebSocket API, the timers' schedule group and role, and the functions, built from the one list in
 * infra/functions.ts: each function gets exactly the grants its `uses` names.
 */
export class StatelessStack extends Stack {
  readonly api: WebSocketApi;
  readonly stage: WebSocketStage;
  readonly scheduleGroup: ScheduleGroup;
  readonly schedulerRole: Role;
  readonly functions = new Map<string, AppFunction>();

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const environment = { ...(props.config ?? {}) };

    // The timer function's name is fixed so that every function (itself included) can be told its ARN.
    const timerFunctionName = `${this.stackName}-timer`;
    const timerFunctionArn = this.formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: timerFunctionName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.scheduleGroup = new ScheduleGroup(this, 'Timers', {});
    this.schedulerRole = new Role(this, 'SchedulerRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': this.account } } }),
      description: 'EventBridge Scheduler invokes the timer function and dead-letters what it cannot deliver',
    });
    props.timerDeadLetterQueue.grantSendMessages(this.schedulerRole);

    const build = (spec: FunctionSpec) => {
      const fn = new AppFunction(this, pascal(spec.name), {
        spec,
        environment,
        functionName: spec.trigger === 'scheduler' ? timerFunctionName : undefined,
      });
      if (spec.uses.table) fn.bindTable(props.table, spec.uses.table);
      if (spec.uses.timers) {
        fn.fn.addEnvironment('SCHEDULE_GROUP', this.scheduleGroup.scheduleGroupName);
        fn.fn.addEnvironment('TIMER_FUNCTION_ARN', timerFunctionArn);
        fn.fn.addEnvironment('SCHEDULER_ROLE_ARN', this.schedulerRole.roleArn);
        fn.fn.addEnvironment('TIMER_DLQ_ARN', props.timerDeadLetterQueue.queueArn);
        this.scheduleGroup.grantWriteSchedules(fn.fn);
        this.scheduleGroup.grantDeleteSchedules(fn.fn);
        this.schedulerRole.grantPassRole(fn.fn.grantPrincipal);
      }
      if (spec.uses.complianceQueue) {
        fn.fn.addEnvironment('COMPLIANCE_QUEUE_URL', props.complianceQueue.queueUrl);
        props.complianceQueue.grantSendMessages(fn.fn);
      }
      if (spec.uses.files) {
        fn.fn.addEnvironment('FILES_BUCKET', props.filesBucket.bucketName);
        // A presigned URL carries the signer's permissions: exactly put and get of chat file objects.
        fn.fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:PutObject', 's3:GetObject'], resources: [props.filesBucket.arnForObjects(`${FILE_KEY_PREFIX}*`)] }));
      }
      if (spec.trigger === 'scheduler') {
        this.schedulerRole.addToPolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [timerFunctionArn] }));
      }
      if (spec.trigger === 'complianceQueue') {
        fn.fn.addEventSource(
          new SqsEventSource(props.complianceQueue, { batchSize: 10, maxBatchingWindow: Duration.seconds(1), reportBatchItemFailures: true }),
        );
      }
      if (spec.uses.complianceArchive) {
        fn.fn.addEnvironment('COMPLIANCE_BUCKET', props.complianceBucket.bucketName);
        // Put only: the export writes each batch once (If-None-Match) and never reads or deletes the archive.
        fn.fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:PutObject'], resources: [props.complianceBucket.arnForObjects('compliance/*')] }));
      }
      if (spec.trigger === 'complianceExport') this.scheduleComplianceExport(fn, loadConfig(environment).COMPLIANCE_EXPORT_SECONDS);
      this.functions.set(spec.name, fn);
      return fn;
    };

    const authorizerFunction = build(AUTHORIZER);
    // The token secret reaches only the authorizer, as a CloudFormation dynamic reference resolved at deploy.
    authorizerFunction.fn.addEnvironment('AUTH_JWT_SECRET', props.jwtSecret.secretValue.unsafeUnwrap());
    const authorizer = new WebSocketLambdaAuthorizer('TokenAuthorizer', authorizerFunction.fn, {
      identitySource: ['route.request.querystring.token'],
    });

    const functions = APP_FUNCTIONS.map((spec) => ({ spec, fn: build(spec) }));
    const integrationOf = (route: string) => {
      const owner = functions.find(({ spec }) => spec.routes.includes(route));
      if (!owner) throw new Error(`no function serves ${route}`);
      return new WebSocketLambdaIntegration(`${pascal(owner.spec.name)}${pascal(route)}Integration`, owner.fn.fn);
    };

    this.api = new WebSocketApi(this, 'WebSocketApi', {
      routeSelectionExpression: '$request.body.action',
      connectRouteOptions: { integration: integrationOf('$connect'), authorizer },
      disconnectRouteOptions: { integration: integrationOf('$disconnect') },
      defaultRouteOptions: { integration: integrationOf('$default'), returnResponse: true },
    });
    for (const { spec } of functions) {
      for (const route of spec.routes.filter((key) => !key.startsWith('$'))) {
        // A route response: the function's result is the answer frame, no postToConnection needed.
        this.api.addRoute(route, { integration: integrationOf(route), returnResponse: true });
      }
    }
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: props.stageName ?? 'prod',
      autoDeploy: true,
      throttle: { rateLimit: 500, burstLimit: 1000 },
    });
    for (const { spec, fn } of functions) {
      if (!spec.uses.connections) continue;
      fn.fn.addEnvironment('WS_MANAGEMENT_ENDPOINT', this.stage.callbackUrl);
      this.api.grantManageConnections(fn.fn);
    }
    new CfnOutput(this, 'WebSocketUrl', { value: this.stage.url });
  }
  /**
   * The export job every COMPLIANCE_EXPORT_SECONDS (rounded up to whole minutes, Scheduler's finest rate),
   * an alarm on its errors and one on export age: the `oldestPendingAgeSeconds` each run logs, as a metric.
   */
  private scheduleComplianceExport(fn: AppFunction, periodSeconds: number): void {
    const minutes = Math.max(1, Math.ceil(periodSeconds / 60));
    // The next period is the retry; the events wait in the store meanwhile.
    fn.fn.configureAsyncInvoke({ retryAttempts: 0 });
    new Schedule(this, 'ComplianceExportSchedule', {
      scheduleName: COMPLIANCE_EXPORT_SCHEDULE,
      scheduleGroup: this.scheduleGroup,
      description: 'Exports pending compliance events through the compliance adapter (SPEC §7)',
      schedule: ScheduleExpression.rate(Duration.minutes(minutes)),
      target: new LambdaInvoke(fn.fn, {
        role: this.schedulerRole,
        input: ScheduleTargetInput.fromObject({ job: 'compliance.export' }),
        retryAttempts: 0,
      }),
    });
    new Alarm(this, 'ComplianceExportErrorsAlarm', {
      metric: fn.fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: 'The compliance export failed in two 5-minute periods in a row; its events wait in the store.',
    });
    const age = new MetricFilter(this, 'ComplianceExportAgeFilter', {
      logGroup: fn.fn.logGroup,
      filterPattern: FilterPattern.numberValue('$.oldestPendingAgeSeconds', '>=', 0),
      metricNamespace: 'UcBackend/Compliance',
      metricName: 'OldestPendingAgeSeconds',
      metricValue: '$.oldestPendingAgeSeconds',
    });
    new Alarm(this, 'ComplianceExportAgeAlarm', {
      metric: age.metric({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: Math.max(900, 5 * minutes * 60),
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // No run logged at all means the export is not running: that is an alarm too.
      treatMissingData: TreatMissingData.BREACHING,
      alarmDescription: 'Compliance events wait longer than expected for export (or the export does not run).',
    });
  }
}

function pascal(name: string): string {
  return name
    .replace(/^\$/, '')
    .split(/[^a-zA-Z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}
