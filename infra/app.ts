import { App } from 'aws-cdk-lib';
import { StatefulStack } from './stacks/stateful-stack';
import { StatelessStack } from './stacks/stateless-stack';

/** `npx cdk synth` / `npx cdk deploy`: stateful resources apart from the stateless API and functions. */
const app = new App();
const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
const stateful = new StatefulStack(app, 'UcStateful', { env });
new StatelessStack(app, 'UcStateless', {
  env,
  table: stateful.table,
  jwtSecret: stateful.jwtSecret,
  complianceQueue: stateful.complianceQueue,
  timerDeadLetterQueue: stateful.timerDeadLetterQueue,
  filesBucket: stateful.filesBucket,
  complianceBucket: stateful.complianceBucket,
  config: { HOME_DOMAIN: process.env.HOME_DOMAIN ?? 'contoso.com' },
});
