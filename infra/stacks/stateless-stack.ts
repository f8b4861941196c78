import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Annotations, ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { CfnStage, WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { CfnAccount } from 'aws-cdk-lib/aws-apigateway';
import { AllowedMethods, Distribution, HttpVersion, ViewerProtocolPolicy } from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { Alarm, ComparisonOperator, Dashboard, GraphWidget, MathExpression, Metric, AlarmStatusWidget, TreatMissingData, type IAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { OAuthScope, UserPoolClient, type IUserPool, type UserPoolDomain } from 'aws-cdk-lib/aws-cognito';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { FilterPattern, LogGroup, MetricFilter, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership, type IBucket } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Schedule, ScheduleExpression, ScheduleGroup, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
import { AppFunction, type TimerScheduling } from '../constructs/app-function';
import { loadConfig } from '../../shared/config';
import { METRIC_NAMES, METRICS_NAMESPACE } from '../../functions/lib/observability';
import { APP_FUNCTIONS, AUTHORIZER, COMPLIANCE_EXPORT_SCHEDULE, FANOUT_BATCH_SIZE, FANOUT_WORKER_CONCURRENCY, type FunctionSpec, type FunctionUses, RESERVED_CONCURRENCY, routeTable } from '../functions';
import { type DeploymentSettings, IDENTITY_GROUPS } from '../settings';

export interface StatelessStackProps extends StackProps {
  readonly settings: DeploymentSettings;
  readonly table: ITable;
  /** Only with `uc:hs256Tokens`: the authorizer reads it at run time (never through its environment). */
  readonly jwtSecret?: ISecret;
  readonly complianceQueue: IQueue;
  /** The fan-out tier's queue: the chat function sends shards, the fan-out worker consumes them. */
  readonly fanOutQueue: IQueue;
  readonly timerDeadLetterQueue: IQueue;
  /** On-failure destinations of the asynchronously invoked functions, by function name. */
  readonly failureQueues: Readonly<Record<string, IQueue>>;
  /** Chat files; functions whose spec `uses.files` presign URLs into it. */
  readonly filesBucket: IBucket;
  /** The compliance archive; functions whose spec `uses.complianceArchive` put batch objects into it. */
  readonly complianceBucket: IBucket;
  readonly accessLogsBucket: IBucket;
  readonly alarmTopic: ITopic;
  /** The stack's Cognito user pool, when no external issuer is configured. */
  readonly userPool?: IUserPool;
  readonly userPoolDomain?: UserPoolDomain;
  /** Overrides of SPEC.md's configuration (durations). */
  readonly config?: Readonly<Record<string, string>>;
  readonly stageName?: string;
  /** The built web app (`npm run build:web`); a placeholder page is deployed when it is missing. */
  readonly webDistDir?: string;
}

/** Commands per second and burst on every route of a function (API Gateway's per-route throttle). */
const ROUTE_RATE = 500;
const ROUTE_BURST = 1000;
/** `$connect` is a sign-in: lower, so a reconnect storm does not starve commands of the account's limit. */
const CONNECT_RATE = 100;
const CONNECT_BURST = 200;

/**
 * The WebSocket API, the timers' schedule group and role, the functions (built from the one list in
 * infra/functions.ts, each with exactly the grants its `uses` names), the web app, the alarms and the dashboard.
 */
export class StatelessStack extends Stack {
  readonly api: WebSocketApi;
  readonly stage: WebSocketStage;
  readonly scheduleGroup: ScheduleGroup;
  readonly schedulerRole: Role;
  readonly functions = new Map<string, AppFunction>();
  readonly alarms: IAlarm[] = [];

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const environment = { ...(props.config ?? {}), HOME_DOMAIN: settings.homeDomain };
    const alarmAction = new SnsAction(props.alarmTopic);

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
    this.schedulerRole.addToPolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [props.timerDeadLetterQueue.queueArn] }));
    NagSuppressions.addResourceSuppressions(
      this.schedulerRole,
      [{ id: 'AwsSolutions-IAM5', reason: "CDK's LambdaInvoke target grants the export function's versions and aliases (Arn:*): that function only.", appliesTo: [{ regex: '/^Resource::<ComplianceExportFunction.*\\.Arn>:\\*$/g' }] }],
      true,
    );
    const timerScheduling: TimerScheduling = {
      scheduleGroupName: this.scheduleGroup.scheduleGroupName,
      timerFunctionArn,
      schedulerRole: this.schedulerRole,
      deadLetterQueue: props.timerDeadLetterQueue,
    };
    const failureQueueOf = (spec: FunctionSpec): IQueue => {
      const failures = props.failureQueues[spec.name];
      if (!failures) throw new Error(`no on-failure destination for ${spec.name}`);
      return failures;
    };
    // What invokes a function besides its WebSocket routes, by `trigger` (typed: a new trigger needs its line here).
    const triggers: { readonly [T in NonNullable<FunctionSpec['trigger']>]: (fn: AppFunction, spec: FunctionSpec) => void } = {
      scheduler: (fn, spec) => {
        this.schedulerRole.addToPolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [timerFunctionArn] }));
        // A timer firing is retried twice, then dead-lettered.
        fn.bindFailureDestination(failureQueueOf(spec), 2);
      },
      complianceQueue: (fn, spec) =>
        fn.bindQueueConsumer(props.complianceQueue, { batchSize: 10, maxBatchingWindow: Duration.seconds(1), maxConcurrency: RESERVED_CONCURRENCY[spec.name] ?? 2 }),
      complianceExport: (fn, spec) => {
        // The next export period is the export's retry.
        fn.bindFailureDestination(failureQueueOf(spec), 0);
        this.scheduleComplianceExport(fn, loadConfig(environment).COMPLIANCE_EXPORT_SECONDS, alarmAction);
      },
      // No batching window: a shard is live delivery. Batches run up to the worker's reserved concurrency at once.
      fanOutQueue: (fn) => fn.bindQueueConsumer(props.fanOutQueue, { batchSize: FANOUT_BATCH_SIZE, maxConcurrency: FANOUT_WORKER_CONCURRENCY }),
    };

    const build = (spec: FunctionSpec) => {
      const fn = new AppFunction(this, pascal(spec.name), {
        spec,
        environment,
        functionName: spec.trigger === 'scheduler' ? timerFunctionName : undefined,
        reservedConcurrency: settings.reservedConcurrency ? RESERVED_CONCURRENCY[spec.name] : undefined,
      });
      if (spec.trigger) triggers[spec.trigger](fn, spec);
      this.functionAlarms(spec, fn, alarmAction);
      this.functions.set(spec.name, fn);
      return fn;
    };

    const authorizerFunction = build(AUTHORIZER);
    this.configureSignIn(authorizerFunction, props);
    const authorizer = new WebSocketLambdaAuthorizer('TokenAuthorizer', authorizerFunction.fn, {
      identitySource: ['route.request.querystring.token'],
    });

    const functions = APP_FUNCTIONS.map((spec) => ({ spec, fn: build(spec) }));
    // Route key → function: the same table the local gateway routes with (infra/local/cloud.ts).
    const owners = routeTable(APP_FUNCTIONS);
    const integrationOf = (route: string) => {
      const owner = functions.find(({ spec }) => spec.name === owners.get(route));
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
    NagSuppressions.addResourceSuppressions(
      this.api,
      [{ id: 'AwsSolutions-APIG4', reason: 'A WebSocket API authorizes once, at $connect (the token authorizer); every other route runs on that authorized connection with its identity.' }],
      true,
    );
    const accessLogs = new LogGroup(this, 'StageAccessLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: props.stageName ?? 'prod',
      autoDeploy: true,
      throttle: { rateLimit: ROUTE_RATE, burstLimit: ROUTE_BURST },
    });
    const cfnStage = this.stage.node.defaultChild as CfnStage;
    // Never `$context.requestOverride` or the query string: the token rides there (SPEC §1).
    cfnStage.accessLogSettings = { destinationArn: accessLogs.logGroupArn, format: JSON.stringify(ACCESS_LOG_FORMAT) };
    // Throttles per route (API Gateway has no API-wide limit of its own for WebSockets; the account's is 10,000/s).
    cfnStage.routeSettings = Object.fromEntries(
      functions.flatMap(({ spec }) =>
        spec.routes.map((route) => [
          route,
          route === '$connect'
            ? { ThrottlingRateLimit: CONNECT_RATE, ThrottlingBurstLimit: CONNECT_BURST }
            : { ThrottlingRateLimit: ROUTE_RATE, ThrottlingBurstLimit: ROUTE_BURST },
        ]),
      ),
    );
    if (settings.apiGatewayAccountRole) {
      // API Gateway writes access logs through an account-wide role (once per account and region).
      const pushRole = new Role(this, 'ApiGatewayLogsRole', {
        assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
        managedPolicies: [ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs')],
      });
      NagSuppressions.addResourceSuppressions(pushRole, [
        { id: 'AwsSolutions-IAM4', reason: "API Gateway's account-wide logging role: AWS's own policy for it, what every API in the account uses." },
      ]);
      const account = new CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: pushRole.roleArn });
      cfnStage.node.addDependency(account);
    }
    // One binder per kind of resource a spec's `uses` names (typed: a new key of FunctionUses needs its line here);
    // each `bind…` sets the function's environment and grants exactly its calls (infra/constructs/app-function.ts).
    const binders: { readonly [K in keyof FunctionUses]-?: (fn: AppFunction, use: NonNullable<FunctionUses[K]>) => void } = {
      table: (fn, stores) => fn.bindTable(props.table, stores),
      timers: (fn) => fn.bindTimers(timerScheduling),
      complianceQueue: (fn) => fn.bindComplianceQueue(props.complianceQueue),
      fanOutQueue: (fn) => fn.bindQueueProducer(props.fanOutQueue, 'FANOUT_QUEUE_URL'),
      files: (fn) => fn.bindFilesBucket(props.filesBucket),
      complianceArchive: (fn) => fn.bindComplianceArchive(props.complianceBucket),
      connections: (fn) => fn.bindConnections(this.api, this.stage),
    };
    for (const [spec, fn] of [[AUTHORIZER, authorizerFunction] as const, ...functions.map(({ spec, fn }) => [spec, fn] as const)]) {
      for (const key of Object.keys(binders) as (keyof FunctionUses)[]) {
        const use = spec.uses[key];
        if (use) (binders[key] as (fn: AppFunction, use: unknown) => void)(fn, use);
      }
    }
    this.apiAlarms(alarmAction, props.table);
    new CfnOutput(this, 'WebSocketUrl', { value: this.stage.url });
    this.webApp(props);
    this.dashboard(functions.map(({ fn }) => fn).concat(authorizerFunction));
  }

  /** The authorizer: the OIDC issuer it trusts, the claim mapping, and (only if kept) where the HS256 secret is. */
  private issuer?: string;
  private clientId?: string;
  private signInUrl?: string;

  private configureSignIn(authorizer: AppFunction, props: StatelessStackProps): void {
    const { settings } = props;
    if (settings.oidc) {
      this.issuer = settings.oidc.issuer;
      this.clientId = settings.oidc.clientId;
    } else {
      if (!props.userPool) throw new Error('no user pool and no uc:oidcIssuer: nobody could sign in');
      this.issuer = `https://cognito-idp.${this.region}.amazonaws.com/${props.userPool.userPoolId}`;
      // Callback URLs are added once the distribution exists (webApp).
    }
    authorizer.fn.addEnvironment('OIDC_ISSUER', this.issuer);
    authorizer.fn.addEnvironment('OIDC_URI_CLAIM', settings.claims.uriClaim);
    authorizer.fn.addEnvironment('OIDC_NAME_CLAIM', settings.claims.nameClaim);
    authorizer.fn.addEnvironment('OIDC_GROUPS_CLAIM', settings.claims.groupsClaim);
    authorizer.fn.addEnvironment('OIDC_ADMIN_GROUP', IDENTITY_GROUPS.admin);
    authorizer.fn.addEnvironment('OIDC_APPLICATION_GROUP', IDENTITY_GROUPS.application);
    if (this.clientId) authorizer.fn.addEnvironment('OIDC_AUDIENCE', this.clientId);
    if (props.jwtSecret) {
      // The ARN only: the authorizer reads the value at run time (Powertools Parameters, cached 5 minutes).
      authorizer.bindSecret(props.jwtSecret, 'AUTH_JWT_SECRET_ARN');
    }
  }

  /** The web app: a private bucket behind CloudFront (origin access control), with its `config.json`. */
  private webApp(props: StatelessStackProps): void {
    const bucket = new Bucket(this, 'WebAppBucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'web/',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const distribution = new Distribution(this, 'WebApp', {
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
      },
      defaultRootObject: 'index.html',
      httpVersion: HttpVersion.HTTP2_AND_3,
      // The app is one page: an unknown path is the app, which routes in the browser.
      errorResponses: [{ httpStatus: 403, responseHttpStatus: 200, responsePagePath: '/index.html', ttl: Duration.minutes(1) }],
    });
    NagSuppressions.addResourceSuppressions(distribution, [
      { id: 'AwsSolutions-CFR1', reason: 'Users sign in from wherever they are; no geographic restriction applies.' },
      { id: 'AwsSolutions-CFR2', reason: 'Static files only; every request with data goes to the WebSocket API behind its own authorizer. Add WAF per docs/deploy.md if needed.' },
      { id: 'AwsSolutions-CFR3', reason: "Static files only; standard logging would need an ACL-enabled bucket. The app's requests are in the stage access log." },
      { id: 'AwsSolutions-CFR4', reason: "The default *.cloudfront.net certificate; CloudFront then negotiates TLS 1.2+ itself. A custom domain sets TLSv1.2_2021." },
    ]);
    const appUrl = `https://${distribution.distributionDomainName}`;
    // Join links (`conf.schedule`, `conf.list`) open the web app at `{WEB_APP_URL}/join/{confId}` (SPEC §9).
    this.functions.get('conference')?.fn.addEnvironment('WEB_APP_URL', appUrl);
    if (props.userPool && props.userPoolDomain) {
      const client = new UserPoolClient(this, 'WebAppClient', {
        userPool: props.userPool,
        generateSecret: false,
        authFlows: {},
        oAuth: {
          flows: { authorizationCodeGrant: true },
          scopes: [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE],
          callbackUrls: [`${appUrl}/`],
          logoutUrls: [`${appUrl}/`],
        },
        idTokenValidity: Duration.hours(1),
        accessTokenValidity: Duration.hours(1),
        refreshTokenValidity: Duration.days(1),
        preventUserExistenceErrors: true,
      });
      this.clientId = client.userPoolClientId;
      this.functions.get(AUTHORIZER.name)!.fn.addEnvironment('OIDC_AUDIENCE', client.userPoolClientId);
      this.signInUrl = props.userPoolDomain.baseUrl();
    }
    const built = props.webDistDir ?? join(__dirname, '..', '..', 'web', 'dist');
    const app = existsSync(join(built, 'index.html'))
      ? Source.asset(built, { exclude: ['config.json'] })
      : Source.data('index.html', '<!doctype html><title>uc-backend</title><p>The web app was not built: run <code>npm run build:web</code> and deploy again.</p>');
    if (!existsSync(join(built, 'index.html'))) {
      Annotations.of(this).addWarningV2('uc:webAppNotBuilt', `${built} has no index.html: a placeholder page is deployed (npm run build:web first)`);
    }
    new BucketDeployment(this, 'WebAppDeployment', {
      destinationBucket: bucket,
      sources: [
        app,
        // What the app reads at start (web/src/session.ts): where to connect and whom to sign in with.
        Source.jsonData('config.json', { webSocketUrl: this.stage.url, issuer: this.issuer, clientId: this.clientId ?? '', scope: 'openid email profile' }),
      ],
      distribution,
      distributionPaths: ['/*'],
      memoryLimit: 256,
    });
    for (const child of this.node.children.filter((node) => node.node.id.startsWith('Custom::CDKBucketDeployment'))) {
      NagSuppressions.addResourceSuppressions(
        child,
        [
          { id: 'AwsSolutions-L1', reason: "CDK's own BucketDeployment handler: its runtime is chosen and updated by aws-cdk-lib." },
          { id: 'AwsSolutions-IAM4', reason: "CDK's BucketDeployment handler logs through the basic execution policy; it runs only at deploy time.", appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'] },
          {
            id: 'AwsSolutions-IAM5',
            reason: "CDK's BucketDeployment copies the asset objects into the web bucket and invalidates the distribution (CloudFront has no resource-level invalidation permission).",
            appliesTo: ['Action::s3:GetObject*', 'Action::s3:GetBucket*', 'Action::s3:List*', 'Action::s3:DeleteObject*', 'Action::s3:Abort*', 'Resource::*', { regex: '/^Resource::arn:<AWS::Partition>:s3:::cdk-.*-assets-.*\\/\\*$/g' }, { regex: '/^Resource::<WebAppBucket.*\\.Arn>\\/\\*$/g' }],
          },
        ],
        true,
      );
    }
    new CfnOutput(this, 'WebAppUrl', { value: `${appUrl}/` });
    new CfnOutput(this, 'OidcIssuer', { value: this.issuer ?? '' });
    if (this.signInUrl) new CfnOutput(this, 'HostedSignInUrl', { value: this.signInUrl });
  }

  private alarm(id: string, alarm: Alarm, action: SnsAction): void {
    alarm.addAlarmAction(action);
    this.alarms.push(alarm);
    void id;
  }

  /** Errors and throttles of every function (docs/deploy.md, "Alarms"). */
  private functionAlarms(spec: FunctionSpec, fn: AppFunction, action: SnsAction): void {
    const id = pascal(spec.name);
    this.alarm(
      `${id}Errors`,
      new Alarm(this, `${id}ErrorsAlarm`, {
        metric: fn.fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: spec.trigger === 'complianceExport' ? 1 : 5,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: spec.trigger === 'complianceExport' ? 2 : 1,
        datapointsToAlarm: spec.trigger === 'complianceExport' ? 2 : 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: spec.trigger === 'complianceExport'
          ? 'The compliance export failed in two 5-minute periods in a row; its events wait in the store.'
          : `The ${spec.name} function threw (an invocation failed, not a refused command): see its logs and traces.`,
      }),
      action,
    );
    this.alarm(
      `${id}Throttles`,
      new Alarm(this, `${id}ThrottlesAlarm`, {
        metric: fn.fn.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 10,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `The ${spec.name} function hit its reserved concurrency: clients are being refused; raise it or find the load.`,
      }),
      action,
    );
  }

  /** API Gateway integration and execution errors, and DynamoDB throttling. */
  private apiAlarms(action: SnsAction, table: ITable): void {
    const apiMetric = (metricName: string) =>
      new Metric({ namespace: 'AWS/ApiGateway', metricName, dimensionsMap: { ApiId: this.api.apiId, Stage: this.stage.stageName }, period: Duration.minutes(5), statistic: 'Sum' });
    this.alarm(
      'ApiIntegrationErrors',
      new Alarm(this, 'ApiIntegrationErrorsAlarm', {
        metric: apiMetric('IntegrationError'),
        threshold: 10,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: 'API Gateway got errors from the functions (throttled, timed out or crashed): clients saw internal errors.',
      }),
      action,
    );
    this.alarm(
      'ApiExecutionErrors',
      new Alarm(this, 'ApiExecutionErrorsAlarm', {
        metric: apiMetric('ExecutionError'),
        threshold: 10,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: 'API Gateway failed to run the integration (e.g. the authorizer or a route throttled).',
      }),
      action,
    );
    const throttled = new MathExpression({
      expression: 'r + w',
      usingMetrics: {
        r: new Metric({ namespace: 'AWS/DynamoDB', metricName: 'ReadThrottleEvents', dimensionsMap: { TableName: table.tableName }, statistic: 'Sum' }),
        w: new Metric({ namespace: 'AWS/DynamoDB', metricName: 'WriteThrottleEvents', dimensionsMap: { TableName: table.tableName }, statistic: 'Sum' }),
      },
      period: Duration.minutes(5),
      label: 'DynamoDB throttle events',
    });
    this.alarm(
      'TableThrottles',
      new Alarm(this, 'TableThrottlesAlarm', {
        metric: throttled,
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: 'DynamoDB throttled the table (a hot key or a burst over on-demand capacity): commands answered 503.',
      }),
      action,
    );
  }

  /** One dashboard: the alarms, commands by status, fan-out, timer lateness, the export lag. */
  private dashboard(fns: readonly AppFunction[]): void {
    const app = (metricName: string, statistic = 'Sum', dimensionsMap?: Record<string, string>) =>
      new Metric({ namespace: METRICS_NAMESPACE, metricName, statistic, period: Duration.minutes(1), dimensionsMap: { service: 'uc-backend', ...(dimensionsMap ?? {}) } });
    const dashboard = new Dashboard(this, 'Dashboard', { dashboardName: `${this.stackName}-operations` });
    dashboard.addWidgets(new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 }));
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Commands (by status, search expression)',
        left: [new MathExpression({ expression: `SEARCH('{${METRICS_NAMESPACE},action,service,status} MetricName="${METRIC_NAMES.command}"', 'Sum', 60)`, label: '' })],
        width: 12,
      }),
      new GraphWidget({ title: 'Fan-out', left: [app(METRIC_NAMES.fanOutSize, 'Average'), app(METRIC_NAMES.fanOutSize, 'Maximum')], right: [app(METRIC_NAMES.fanOutDuration, 'p99')], width: 12 }),
    );
    dashboard.addWidgets(
      new GraphWidget({ title: 'Timer lateness (s)', left: [new MathExpression({ expression: `SEARCH('{${METRICS_NAMESPACE},rule,service} MetricName="${METRIC_NAMES.timerLateness}"', 'Maximum', 60)`, label: '' })], width: 8 }),
      new GraphWidget({ title: 'Compliance export lag (s)', left: [app(METRIC_NAMES.complianceExportLag, 'Maximum')], width: 8 }),
      new GraphWidget({ title: 'Function errors', left: fns.map((fn) => fn.fn.metricErrors({ period: Duration.minutes(1) })), width: 8 }),
    );
    dashboard.addWidgets(new GraphWidget({ title: 'Function duration p99', left: fns.map((fn) => fn.fn.metricDuration({ statistic: 'p99', period: Duration.minutes(1) })), width: 24 }));
  }

  /**
   * The export job every COMPLIANCE_EXPORT_SECONDS (rounded up to whole minutes, Scheduler's finest rate) and an
   * alarm on export age: the `oldestPendingAgeSeconds` each run logs, as a metric.
   */
  private scheduleComplianceExport(fn: AppFunction, periodSeconds: number, action: SnsAction): void {
    const minutes = Math.max(1, Math.ceil(periodSeconds / 60));
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
    const age = new MetricFilter(this, 'ComplianceExportAgeFilter', {
      logGroup: fn.fn.logGroup,
      filterPattern: FilterPattern.numberValue('$.oldestPendingAgeSeconds', '>=', 0),
      metricNamespace: 'UcBackend/Compliance',
      metricName: 'OldestPendingAgeSeconds',
      metricValue: '$.oldestPendingAgeSeconds',
    });
    this.alarm(
      'ComplianceExportAge',
      new Alarm(this, 'ComplianceExportAgeAlarm', {
        metric: age.metric({ period: Duration.minutes(5), statistic: 'Maximum' }),
        threshold: Math.max(900, 5 * minutes * 60),
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // No run logged at all means the export is not running: that is an alarm too.
        treatMissingData: TreatMissingData.BREACHING,
        alarmDescription: 'Compliance events wait longer than expected for export (or the export does not run).',
      }),
      action,
    );
  }
}

/** The stage's access log line (JSON): who, which route, what status, how long; never the query string (the token). */
export const ACCESS_LOG_FORMAT = {
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  requestTime: '$context.requestTime',
  eventType: '$context.eventType',
  routeKey: '$context.routeKey',
  connectionId: '$context.connectionId',
  status: '$context.status',
  sourceIp: '$context.identity.sourceIp',
  user: '$context.authorizer.principalId',
  authorizerError: '$context.authorizer.error',
  integrationStatus: '$context.integration.status',
  integrationError: '$context.integration.error',
  integrationLatency: '$context.integration.latency',
  error: '$context.error.message',
} as const;

function pascal(name: string): string {
  return name
    .replace(/^\$/, '')
    .split(/[^a-zA-Z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}
