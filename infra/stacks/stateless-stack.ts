import { ArnFormat, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { ScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { AppFunction } from '../constructs/app-function';
import { APP_FUNCTIONS, AUTHORIZER, type FunctionSpec } from '../functions';

export interface StatelessStackProps extends StackProps {
  readonly table: ITable;
  readonly jwtSecret: ISecret;
  readonly complianceQueue: IQueue;
  readonly timerDeadLetterQueue: IQueue;
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
      if (spec.trigger === 'scheduler') {
        this.schedulerRole.addToPolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [timerFunctionArn] }));
      }
      if (spec.trigger === 'complianceQueue') {
        fn.fn.addEventSource(
          new SqsEventSource(props.complianceQueue, { batchSize: 10, maxBatchingWindow: Duration.seconds(1), reportBatchItemFailures: true }),
        );
      }
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
}

function pascal(name: string): string {
  return name
    .replace(/^\$/, '')
    .split(/[^a-zA-Z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}
