import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { APP_FUNCTIONS } from '../../infra/functions';
import { StatefulStack } from '../../infra/stacks/stateful-stack';
import { StatelessStack } from '../../infra/stacks/stateless-stack';

// Bundling is skipped here (it is exercised by `npx cdk synth`); the template is what is checked.
const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const stateful = new StatefulStack(app, 'Stateful');
const stateless = new StatelessStack(app, 'Stateless', {
  table: stateful.table,
  jwtSecret: stateful.jwtSecret,
  complianceQueue: stateful.complianceQueue,
  timerDeadLetterQueue: stateful.timerDeadLetterQueue,
  filesBucket: stateful.filesBucket,
  complianceBucket: stateful.complianceBucket,
});
const statefulTemplate = Template.fromStack(stateful);
const template = Template.fromStack(stateless);

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

  test('the token secret is generated in Secrets Manager', () => {
    statefulTemplate.resourceCountIs('AWS::SecretsManager::Secret', 1);
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
    template.allResourcesProperties('AWS::Lambda::Function', { Runtime: 'nodejs22.x', Architectures: ['arm64'] });
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  test('only the authorizer gets the token secret', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    const withSecret = Object.values(functions).filter((fn) => JSON.stringify(fn).includes('AUTH_JWT_SECRET'));
    expect(withSecret).toHaveLength(1);
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
    statefulTemplate.resourceCountIs('AWS::SQS::Queue', 3);
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
      2,
    );
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Namespace: 'AWS/Lambda' });
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ $.oldestPendingAgeSeconds >= 0 }',
      MetricTransformations: [Match.objectLike({ MetricName: 'OldestPendingAgeSeconds', MetricValue: '$.oldestPendingAgeSeconds' })],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'OldestPendingAgeSeconds', TreatMissingData: 'breaching', Threshold: 900 });
  });
});
