import { App, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { APP_FUNCTIONS, AUTHORIZER, COMPLIANCE_EXPORT_SCHEDULE, FANOUT_BATCH_SIZE, FANOUT_MAX_RECEIVE_COUNT, FANOUT_VISIBILITY_SECONDS, FANOUT_WORKER_CONCURRENCY, isAsync, queriesIndex, RESERVED_CONCURRENCY, routeTable, tableActionsOf } from '../../infra/functions';
import { commandSchemas } from '../../shared/protocol/commands';
import { scheduleName } from '../../shared/timers/schedule-names';
import { AUTOMATIC_RULES } from '../../shared/conference/conference';
import { CONTENT_PURGE_RULE, EXPIRY_RULE } from '../../shared/conference/service';
import { IDLE_TIMER_RULE } from '../../shared/conversation/service';
import { REFRESH_TIMER_RULE } from '../../shared/presence/service';
import { buildApp } from '../../infra/app';

// Bundling is skipped here (it is exercised by `npx cdk synth`); the template is what is checked.
const { stateful, stateless } = buildApp(new App({ context: { 'aws:cdk:bundling-stacks': [], 'uc:alarmEmail': 'ops@contoso.com' } }));
const statefulTemplate = Template.fromStack(stateful);
const template = Template.fromStack(stateless);

/** The app's functions (not CDK's own custom-resource handlers), as [logicalId, resource]. */
function appFunctions(from: Template = template): [string, { Properties: Record<string, unknown> }][] {
  return Object.entries(from.findResources('AWS::Lambda::Function')).filter(([id]) => !id.startsWith('Custom')) as [string, { Properties: Record<string, unknown> }][];
}

describe('stateful stack', () => {
  test('one table with PK/SK, GSI1 and a TTL attribute, on demand, retained', () => {
    statefulTemplate.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: 'PK', KeyType: 'HASH' },
          { AttributeName: 'SK', KeyType: 'RANGE' },
        ],
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        GlobalSecondaryIndexes: [Match.objectLike({ IndexName: 'GSI1' })],
      },
    });
  });

  test('issue 19: no HS256 secret unless the deployment keeps development tokens (uc:hs256Tokens)', () => {
    statefulTemplate.resourceCountIs('AWS::SecretsManager::Secret', 0);
  });
});

describe('stateless stack', () => {
  test('a WebSocket API that selects routes on body.action', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: '$request.body.action',
    });
  });

  test('every route of infra/functions.ts exists, $connect behind the token authorizer', () => {
    const routeKeys = APP_FUNCTIONS.flatMap((fn) => fn.routes);
    for (const routeKey of routeKeys) template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: routeKey });
    template.resourceCountIs('AWS::ApiGatewayV2::Route', routeKeys.length);
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$connect', AuthorizationType: 'CUSTOM' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      IdentitySource: ['route.request.querystring.token'],
    });
  });

  test('command routes answer through a route response', () => {
    const commandRoutes = APP_FUNCTIONS.flatMap((fn) => fn.routes).filter((key) => key === '$default' || !key.startsWith('$'));
    template.resourceCountIs('AWS::ApiGatewayV2::RouteResponse', commandRoutes.length);
  });

  test('functions run Node 22 on ARM64 with log retention', () => {
    expect(appFunctions()).toHaveLength(APP_FUNCTIONS.length + 1);
    for (const [, fn] of appFunctions()) expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'] });
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  test("issue 22: the conference function (join links) is told WEB_APP_URL, the web app's CloudFront address; no other function", () => {
    const withWebApp = appFunctions().filter(([, fn]) => JSON.stringify(fn.Properties.Environment ?? {}).includes('WEB_APP_URL'));
    expect(withWebApp.map(([id]) => id)).toEqual([expect.stringMatching(/^Conference/)]);
    const url = JSON.stringify((withWebApp[0]![1].Properties.Environment as { Variables: Record<string, unknown> }).Variables.WEB_APP_URL);
    expect(url).toContain('https://');
    expect(url).toMatch(/WebApp[0-9A-F]*","DomainName"/);
  });

  test('issue 19: no function environment holds a secret; the authorizer is told the OIDC issuer', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    const environments = Object.values(functions).map((fn) => JSON.stringify(fn.Properties.Environment ?? {}));
    expect(environments.filter((env) => /AUTH_JWT_SECRET"|resolve:secretsmanager|SecretString/.test(env))).toEqual([]);
    const withIssuer = appFunctions().filter(([, fn]) => JSON.stringify(fn).includes('OIDC_ISSUER'));
    expect(withIssuer.map(([id]) => id)).toEqual([expect.stringMatching(/^Authorizer/)]);
    expect(JSON.stringify(withIssuer[0]![1])).toContain('cognito-idp.');
  });

  test('only functions that post to connections may manage them', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy).includes('execute-api:ManageConnections'),
    );
    expect(policies).toHaveLength(APP_FUNCTIONS.filter((fn) => fn.uses.connections).length);
  });
});

describe('timers and queues', () => {
  test('the compliance queue redrives to its dead-letter queue after a few receives', () => {
    // Compliance and its DLQ, timers DLQ, timer and export failures, fan-out and its DLQ.
    statefulTemplate.resourceCountIs('AWS::SQS::Queue', 7);
    statefulTemplate.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: 5 },
    });
  });

  test('the compliance consumer reads the queue with partial batch responses', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  test('issue 21: the fan-out queue redrives to its DLQ after 3 receives; its worker reads it with partial batch responses, 4 shards a batch, 50 at once; only chat sends to it', () => {
    statefulTemplate.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: FANOUT_VISIBILITY_SECONDS,
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: FANOUT_MAX_RECEIVE_COUNT },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: FANOUT_BATCH_SIZE,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: FANOUT_WORKER_CONCURRENCY },
    });
    const withQueue = appFunctions().filter(([, fn]) => JSON.stringify(fn.Properties.Environment ?? {}).includes('FANOUT_QUEUE_URL'));
    expect(withQueue.map(([id]) => id)).toEqual([expect.stringMatching(/^ChatFunction/)]);
  });

  test('a schedule group, and a role Scheduler assumes that may invoke only the timer function (and the compliance export)', () => {
    template.resourceCountIs('AWS::Scheduler::ScheduleGroup', 1);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'scheduler.amazonaws.com' } })] },
    });
    const invokePolicies = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy).includes('lambda:InvokeFunction'),
    );
    expect(invokePolicies).toHaveLength(1);
    expect(JSON.stringify(invokePolicies[0])).toContain('-timer');
    template.hasResourceProperties('AWS::Lambda::Function', { FunctionName: Match.stringLikeRegexp('-timer$') });
  });

  test('functions that arm timers may write schedules and pass the Scheduler role', () => {
    const armers = APP_FUNCTIONS.filter((fn) => fn.uses.timers).length;
    const passRole = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) => JSON.stringify(policy).includes('iam:PassRole'));
    expect(passRole).toHaveLength(armers);
    for (const policy of passRole) expect(JSON.stringify(policy)).toContain('scheduler:CreateSchedule');
  });
});

describe('chat files', () => {
  test('a private, encrypted, SSL-only bucket with CORS for browser PUT and GET', () => {
    statefulTemplate.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        CorsConfiguration: { CorsRules: [Match.objectLike({ AllowedMethods: Match.arrayWith(['PUT', 'GET']) })] },
      }),
    });
    const policies = Object.values(statefulTemplate.findResources('AWS::S3::BucketPolicy')).map((policy) => JSON.stringify(policy));
    expect(policies.some((policy) => policy.includes('aws:SecureTransport'))).toBe(true);
  });

  test('only functions that use files get FILES_BUCKET and may put and get chat file objects', () => {
    const users = APP_FUNCTIONS.filter((fn) => fn.uses.files);
    expect(users.map((fn) => fn.name)).toEqual(['chat']);
    const withBucket = Object.values(template.findResources('AWS::Lambda::Function')).filter((fn) => JSON.stringify(fn).includes('FILES_BUCKET'));
    expect(withBucket).toHaveLength(users.length);
    // The files bucket's objects (other buckets, e.g. an export bucket, have grants of their own).
    const filePolicies = Object.values(template.findResources('AWS::IAM::Policy')).map((policy) => JSON.stringify(policy)).filter((policy) => policy.includes('/rooms/*'));
    expect(filePolicies).toHaveLength(users.length);
    expect(filePolicies[0]).toContain('s3:PutObject');
    expect(filePolicies[0]).toContain('s3:GetObject');
  });
});

describe('compliance export', () => {
  const exportFunction = () => {
    const [logicalId] = Object.entries(template.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith('ComplianceExport')) ?? [];
    if (!logicalId) throw new Error('no compliance-export function');
    return logicalId;
  };

  test('a recurring schedule in the app group invokes the export function every minute, through the Scheduler role', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: 'compliance-export',
      ScheduleExpression: 'rate(1 minute)',
      Target: Match.objectLike({ Arn: { 'Fn::GetAtt': [exportFunction(), 'Arn'] }, RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 0 }) }),
    });
    const invoke = Object.values(template.findResources('AWS::IAM::Policy'))
      .map((policy) => JSON.stringify(policy))
      .filter((policy) => policy.includes('lambda:InvokeFunction'));
    expect(invoke.some((policy) => policy.includes(exportFunction()))).toBe(true);
  });

  test('a versioned, retained, private archive bucket; only the export may put into it', () => {
    statefulTemplate.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ VersioningConfiguration: { Status: 'Enabled' } }),
    });
    const withBucket = Object.entries(template.findResources('AWS::Lambda::Function')).filter(([, fn]) => JSON.stringify(fn).includes('COMPLIANCE_BUCKET'));
    expect(withBucket.map(([id]) => id)).toEqual([exportFunction()]);
    const puts = Object.values(template.findResources('AWS::IAM::Policy'))
      .map((policy) => JSON.stringify(policy))
      .filter((policy) => policy.includes('/compliance/*'));
    expect(puts).toHaveLength(1);
    expect(puts[0]).toContain('s3:PutObject');
    expect(puts[0]).not.toContain('s3:DeleteObject');
  });

  test('alarms on both dead-letter queues, on export errors and on export age (missing data breaches)', () => {
    statefulTemplate.resourcePropertiesCountIs(
      'AWS::CloudWatch::Alarm',
      { MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' },
      // Compliance DLQ, timers DLQ, timer failures, export failures, fan-out DLQ.
      5,
    );
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Namespace: 'AWS/Lambda' });
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ $.oldestPendingAgeSeconds >= 0 }',
      MetricTransformations: [Match.objectLike({ MetricName: 'OldestPendingAgeSeconds', MetricValue: '$.oldestPendingAgeSeconds' })],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'OldestPendingAgeSeconds', TreatMissingData: 'breaching', Threshold: 900 });
  });
});

describe('issue 19: sign-in, web app, failures an operator sees, durable and bounded, least privilege', () => {
  const policiesOf = (logicalIdPrefix: string): string =>
    JSON.stringify(Object.entries(template.findResources('AWS::IAM::Policy')).filter(([id]) => id.startsWith(logicalIdPrefix)).map(([, policy]) => policy));

  test('a Cognito user pool (MFA, no self sign-up, retained) with admin and application groups, and a hosted sign-in domain', () => {
    statefulTemplate.hasResource('AWS::Cognito::UserPool', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ MfaConfiguration: 'ON', DeletionProtection: 'ACTIVE', AdminCreateUserConfig: { AllowAdminCreateUserOnly: true } }),
    });
    for (const group of ['admin', 'application']) statefulTemplate.hasResourceProperties('AWS::Cognito::UserPoolGroup', { GroupName: group });
    statefulTemplate.resourceCountIs('AWS::Cognito::UserPoolDomain', 1);
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      AllowedOAuthFlows: ['code'],
      GenerateSecret: false,
      CallbackURLs: [Match.objectLike({ 'Fn::Join': Match.anyValue() })],
    });
  });

  test('an external issuer (Entra ID) from context replaces the user pool, with its claim mapping', () => {
    const { stateful: external, stateless: externalStateless } = buildApp(
      new App({
        context: {
          'aws:cdk:bundling-stacks': [],
          'uc:oidcIssuer': 'https://login.microsoftonline.com/tenant-id/v2.0',
          'uc:oidcClientId': '00000000-1111-2222-3333-444444444444',
          'uc:hs256Tokens': 'true',
        },
      }),
    );
    Template.fromStack(external).resourceCountIs('AWS::Cognito::UserPool', 0);
    const externalTemplate = Template.fromStack(externalStateless);
    externalTemplate.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          OIDC_ISSUER: 'https://login.microsoftonline.com/tenant-id/v2.0',
          OIDC_AUDIENCE: '00000000-1111-2222-3333-444444444444',
          OIDC_URI_CLAIM: 'preferred_username',
          OIDC_GROUPS_CLAIM: 'roles',
          // The HS256 secret, when kept, by ARN only: read at run time.
          AUTH_JWT_SECRET_ARN: Match.anyValue(),
        }),
      },
    });
    const secretReaders = Object.values(externalTemplate.findResources('AWS::IAM::Policy')).filter((policy) => JSON.stringify(policy).includes('secretsmanager:GetSecretValue'));
    expect(secretReaders).toHaveLength(1);
    expect(JSON.stringify(secretReaders[0])).toContain('AuthorizerRole');
  });

  test('the web app: a private bucket behind CloudFront with origin access control, config.json deployed, WebAppUrl output', () => {
    template.resourceCountIs('AWS::CloudFront::Distribution', 1);
    template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({ DefaultRootObject: 'index.html', DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: 'redirect-to-https' }) }),
    });
    template.resourceCountIs('Custom::CDKBucketDeployment', 1);
    const deployment = JSON.stringify(template.findResources('Custom::CDKBucketDeployment'));
    // The app and config.json (Source.jsonData: its values resolved at deploy, the API's URL and the app client's id).
    expect(deployment).toContain('"jsonEscape":true');
    expect(deployment).toMatch(/"Ref":"WebSocketApi[^"]*"/);
    expect(deployment).toMatch(/"Ref":"WebAppClient[^"]*"/);
    expect(Object.keys(template.findOutputs('*'))).toEqual(expect.arrayContaining(['WebAppUrl', 'WebSocketUrl', 'OidcIssuer', 'HostedSignInUrl']));
  });

  test('active tracing on every function; Powertools metrics namespace set', () => {
    for (const [, fn] of appFunctions()) expect(fn.Properties).toMatchObject({ TracingConfig: { Mode: 'Active' } });
  });

  test('every asynchronously invoked function has an SQS on-failure destination', () => {
    const asyncFunctions = APP_FUNCTIONS.filter(isAsync);
    expect(asyncFunctions.map((fn) => fn.name).sort()).toEqual(['compliance-export', 'timer']);
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', asyncFunctions.length);
    template.allResourcesProperties('AWS::Lambda::EventInvokeConfig', {
      DestinationConfig: { OnFailure: { Destination: Match.objectLike({ 'Fn::ImportValue': Match.stringLikeRegexp('FailureQueue') }) } },
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 2, FunctionName: Match.objectLike({ Ref: Match.stringLikeRegexp('^Timer') }) });
  });

  test('every alarm of both stacks notifies the alarm topic, which has the e-mail subscription from context', () => {
    for (const t of [statefulTemplate, template]) {
      const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm'));
      expect(alarms.length).toBeGreaterThan(0);
      for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toHaveLength(1);
    }
    statefulTemplate.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@contoso.com' });
  });

  test('alarms on function errors and throttles, API integration errors, DynamoDB throttling, queue age and every DLQ; a dashboard', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties as Record<string, unknown>);
    const count = (metric: string) => alarms.filter((alarm) => alarm.MetricName === metric).length;
    expect(count('Errors')).toBe(APP_FUNCTIONS.length + 1);
    expect(count('Throttles')).toBe(APP_FUNCTIONS.length + 1);
    expect(count('IntegrationError')).toBe(1);
    expect(JSON.stringify(alarms)).toContain('WriteThrottleEvents');
    statefulTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateAgeOfOldestMessage' });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  test('a stage access log whose format never contains the query string (the token); per-route throttles', () => {
    const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
    const { AccessLogSettings, RouteSettings } = stage!.Properties as { AccessLogSettings: { Format: string; DestinationArn: unknown }; RouteSettings: Record<string, unknown> };
    expect(AccessLogSettings.DestinationArn).toBeDefined();
    expect(AccessLogSettings.Format).toContain('$context.requestId');
    expect(AccessLogSettings.Format).not.toMatch(/querystring|requestOverride|token/i);
    const routes = APP_FUNCTIONS.flatMap((fn) => fn.routes);
    expect(Object.keys(RouteSettings).sort()).toEqual([...routes].sort());
    expect(RouteSettings['$connect']).toEqual({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 });
  });

  test('reserved concurrency per function, from infra/functions.ts', () => {
    for (const spec of [AUTHORIZER, ...APP_FUNCTIONS]) expect(RESERVED_CONCURRENCY[spec.name]).toBeGreaterThan(0);
    const total = Object.values(RESERVED_CONCURRENCY).reduce((sum, n) => sum + n, 0);
    expect(total).toBeLessThanOrEqual(900);
    for (const [, fn] of appFunctions()) expect(fn.Properties.ReservedConcurrentExecutions).toEqual(expect.any(Number));
  });

  test('queues and table retained, table deletion protection, compliance archive under Object Lock (compliance mode)', () => {
    for (const queue of Object.values(statefulTemplate.findResources('AWS::SQS::Queue'))) expect(queue.DeletionPolicy).toBe('Retain');
    statefulTemplate.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', Properties: Match.objectLike({ DeletionProtectionEnabled: true }) });
    statefulTemplate.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 365 } } },
    });
  });

  test('schedule names can never pass 64 characters', () => {
    expect(COMPLIANCE_EXPORT_SCHEDULE.length).toBeLessThanOrEqual(64);
    const rules = [IDLE_TIMER_RULE, REFRESH_TIMER_RULE, CONTENT_PURGE_RULE, EXPIRY_RULE, ...Object.values(AUTOMATIC_RULES)];
    for (const rule of rules) {
      expect(scheduleName({ rule, subject: 's'.repeat(500), version: Number.MAX_SAFE_INTEGER }).length).toBeLessThanOrEqual(64);
    }
  });

  test('least privilege: explicit DynamoDB item actions (no Scan, no streams), ping holds no grant, PassRole only to Scheduler', () => {
    const all = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(all).not.toMatch(/dynamodb:Scan|dynamodb:\*|DescribeStream|GetRecords|dynamodb:DescribeTable/);
    expect(policiesOf('SystemRole')).not.toMatch(/dynamodb:|execute-api:|sqs:|scheduler:/);
    const passRole = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) => JSON.stringify(policy).includes('iam:PassRole'));
    for (const policy of passRole) {
      const statement = (policy.Properties.PolicyDocument.Statement as { Action: unknown; Condition?: unknown }[]).find((s) => s.Action === 'iam:PassRole');
      expect(statement?.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } });
    }
    const appRoles = Object.entries(template.findResources('AWS::IAM::Role')).filter(([id]) => !id.startsWith('Custom'));
    expect(JSON.stringify(appRoles)).not.toContain('AWSLambdaBasicExecutionRole');
  });
});

describe('issue 18 item 5: routes from the action lists, grants from the specs', () => {
  /** A function's (and its role policy's) logical id, from the stack's constructs (`default` is CDK's special id: no prefix). */
  const logicalIdOf = (name: string, part: 'function' | 'policy') => {
    const fn = stateless.functions.get(name)!;
    const construct = part === 'function' ? fn.fn.node.defaultChild : fn.role.node.tryFindChild('DefaultPolicy')?.node.defaultChild;
    return construct ? stateless.getLogicalId(construct as CfnElement) : undefined;
  };
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;

  test("every schema'd action is a route, integrated with the function the route table (and so the local gateway) names", () => {
    const routes = Object.values(resources).filter((resource) => resource.Type === 'AWS::ApiGatewayV2::Route');
    const keys = routes.map((route) => route.Properties.RouteKey as string);
    expect(keys.filter((key) => !key.startsWith('$')).sort()).toEqual(Object.keys(commandSchemas).sort());
    const owners = routeTable();
    for (const route of routes) {
      const target = JSON.stringify(route.Properties.Target);
      const integrationId = /"Ref":"([^"]+)"/.exec(target)![1]!;
      const functionArn = JSON.stringify(resources[integrationId]!.Properties.IntegrationUri);
      const key = route.Properties.RouteKey as string;
      expect({ key, integration: functionArn.includes(`"${logicalIdOf(owners.get(key)!, 'function')}"`) }).toEqual({ key, integration: true });
    }
  });

  test("each function's role holds exactly the table calls of the stores its spec uses (the index only where one queries it); one that uses none gets neither grant nor TABLE_NAME", () => {
    for (const spec of [AUTHORIZER, ...APP_FUNCTIONS]) {
      const policy = resources[logicalIdOf(spec.name, 'policy')!];
      const statements = ((policy?.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] } | undefined)?.Statement ?? []);
      const onTable = statements.filter((statement) => !JSON.stringify(statement.Resource).includes('/index/')).flatMap((statement) => [statement.Action].flat()).filter((action) => action.startsWith('dynamodb:'));
      expect({ fn: spec.name, actions: onTable.sort() }).toEqual({ fn: spec.name, actions: tableActionsOf(spec.uses).map((action) => `dynamodb:${action}`).sort() });
      const onIndex = statements.filter((statement) => JSON.stringify(statement.Resource).includes('/index/'));
      expect({ fn: spec.name, index: onIndex.map((statement) => statement.Action) }).toEqual({ fn: spec.name, index: queriesIndex(spec.uses) ? ['dynamodb:Query'] : [] });
      const fn = resources[logicalIdOf(spec.name, 'function')!]!;
      const variables = Object.keys((fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables);
      expect({ fn: spec.name, tableName: variables.includes('TABLE_NAME') }).toEqual({ fn: spec.name, tableName: onTable.length > 0 });
    }
    // Only the conference store makes a condition-check-only transaction part (a meeting message or a leave checks the
    // participant's stay), so only functions using it may.
    for (const spec of [AUTHORIZER, ...APP_FUNCTIONS]) {
      const policy = JSON.stringify(resources[logicalIdOf(spec.name, 'policy')!] ?? {});
      expect({ fn: spec.name, conditionCheck: policy.includes('dynamodb:ConditionCheckItem') }).toEqual({ fn: spec.name, conditionCheck: (spec.uses.table ?? []).includes('conferences') });
    }
    expect(tableActionsOf(APP_FUNCTIONS.find((fn) => fn.name === 'system')!.uses)).toEqual([]);
  });
});
