import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { settingsFromContext } from './settings';
import { StatefulStack } from './stacks/stateful-stack';
import { StatelessStack } from './stacks/stateless-stack';

const S3_LOGS_BY_POLICY = '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy';

/**
 * `npx cdk synth` / `npx cdk deploy`: stateful resources apart from the stateless API and functions. The
 * deployment's choices come from CDK context (infra/settings.ts, docs/deploy.md); cdk-nag's AwsSolutions
 * rules run on every synth.
 */
export function buildApp(app: App = new App()): { app: App; stateful: StatefulStack; stateless: StatelessStack } {
  // Access logs are delivered under a bucket policy, not ACLs (every bucket here has ACLs disabled).
  if (app.node.tryGetContext(S3_LOGS_BY_POLICY) === undefined) app.node.setContext(S3_LOGS_BY_POLICY, true);
  const settings = settingsFromContext(app.node);
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  const stateful = new StatefulStack(app, 'UcStateful', { env, settings });
  const stateless = new StatelessStack(app, 'UcStateless', {
    env,
    settings,
    table: stateful.table,
    jwtSecret: stateful.jwtSecret,
    complianceQueue: stateful.complianceQueue,
    fanOutQueue: stateful.fanOutQueue,
    timerDeadLetterQueue: stateful.timerDeadLetterQueue,
    failureQueues: { timer: stateful.timerFailureQueue, 'compliance-export': stateful.complianceExportFailureQueue },
    filesBucket: stateful.filesBucket,
    complianceBucket: stateful.complianceBucket,
    accessLogsBucket: stateful.accessLogsBucket,
    alarmTopic: stateful.alarmTopic,
    userPool: stateful.userPool,
    userPoolDomain: stateful.userPoolDomain,
  });
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  return { app, stateful, stateless };
}

if (require.main === module) buildApp();
