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

  test('a schedule group, and a role Scheduler assumes that may invoke only the timer function', () => {
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
