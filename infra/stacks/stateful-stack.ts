import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { CfnUserPoolGroup, Mfa, UserPool, UserPoolDomain, AccountRecovery } from 'aws-cdk-lib/aws-cognito';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { BlockPublicAccess, Bucket, BucketEncryption, HttpMethods, ObjectLockRetention, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
import { TABLE_KEYS } from '../../shared/adapters/dynamodb';
import { COMPLIANCE_MAX_RECEIVE_COUNT, FANOUT_MAX_RECEIVE_COUNT, FANOUT_VISIBILITY_SECONDS } from '../functions';
import { type DeploymentSettings, IDENTITY_GROUPS } from '../settings';

export interface StatefulStackProps extends StackProps {
  readonly settings: DeploymentSettings;
}

/**
 * What outlives a deployment: the table, the queues that hold messages, the buckets, the user pool and the
 * alarm topic. Everything here is retained when the stack is deleted, and the table refuses deletion.
 */
export class StatefulStack extends Stack {
  readonly table: Table;
  /** Only with `uc:hs256Tokens` (docs/deploy.md): the HS256 secret, read by the authorizer at run time. */
  readonly jwtSecret?: Secret;
  readonly complianceQueue: Queue;
  readonly complianceDeadLetterQueue: Queue;
  /** The fan-out tier's shards of large rooms' messages (docs/architecture.md, "Fan-out tier"), and where a shard that kept failing goes. */
  readonly fanOutQueue: Queue;
  readonly fanOutDeadLetterQueue: Queue;
  /** Timer firings Scheduler could not deliver (its own dead-letter queue, on the schedules). */
  readonly timerDeadLetterQueue: Queue;
  /** The on-failure destinations of the asynchronously invoked functions: an invocation Lambda gave up on. */
  readonly timerFailureQueue: Queue;
  readonly complianceExportFailureQueue: Queue;
  /** The compliance archive (SPEC §7): one object per export batch, write-once under Object Lock. */
  readonly complianceBucket: Bucket;
  /** Chat files (`chat.file.upload`), put and got by clients through presigned URLs only. */
  readonly filesBucket: Bucket;
  /** Server access logs of the buckets. */
  readonly accessLogsBucket: Bucket;
  /** Every alarm of both stacks notifies this topic (an e-mail subscription from `uc:alarmEmail`). */
  readonly alarmTopic: Topic;
  /** The Cognito user pool, unless an external issuer is configured (`uc:oidcIssuer`). */
  readonly userPool?: UserPool;
  readonly userPoolDomain?: UserPoolDomain;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    const { settings } = props;
    this.table = new Table(this, 'Table', {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE_KEYS.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: TABLE_KEYS.gsi1.name,
      partitionKey: { name: TABLE_KEYS.gsi1.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.gsi1.sortKey, type: AttributeType.STRING },
    });
    if (settings.hs256Tokens) {
      this.jwtSecret = new Secret(this, 'AuthJwtSecret', {
        description: 'HS256 secret of development tokens (SPEC §1), read by the authorizer at run time',
        generateSecretString: { passwordLength: 48, excludePunctuation: true },
        removalPolicy: RemovalPolicy.RETAIN,
      });
      NagSuppressions.addResourceSuppressions(this.jwtSecret, [
        {
          id: 'AwsSolutions-SMG4',
          reason: 'Rotated by hand (docs/deploy.md): the authorizer re-reads it within 5 minutes; a rotation Lambda would sign nothing else.',
        },
      ]);
    }

    this.alarmTopic = new Topic(this, 'AlarmTopic', { displayName: 'uc-backend alarms', enforceSSL: true });
    if (settings.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(settings.alarmEmail));
    NagSuppressions.addResourceSuppressions(this.alarmTopic, [
      {
        id: 'AwsSolutions-SNS2',
        reason: 'CloudWatch alarms cannot publish to a topic under the AWS-managed SNS key; alarm notifications carry no user data.',
      },
    ]);

    const queueDefaults = {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.RETAIN,
    };
    const deadLetter = (queue: Queue, why: string) =>
      NagSuppressions.addResourceSuppressions(queue, [{ id: 'AwsSolutions-SQS3', reason: `${why}: it is a dead-letter queue itself, alarmed on its depth.` }]);
    this.complianceDeadLetterQueue = new Queue(this, 'ComplianceDeadLetterQueue', queueDefaults);
    deadLetter(this.complianceDeadLetterQueue, "The compliance queue's redrive target");
    this.complianceQueue = new Queue(this, 'ComplianceQueue', {
      ...queueDefaults,
      // Six times the consumer's timeout, as Lambda's SQS event source advises.
      visibilityTimeout: Duration.seconds(90),
      deadLetterQueue: { queue: this.complianceDeadLetterQueue, maxReceiveCount: COMPLIANCE_MAX_RECEIVE_COUNT },
    });
    this.fanOutDeadLetterQueue = new Queue(this, 'FanOutDeadLetterQueue', queueDefaults);
    deadLetter(this.fanOutDeadLetterQueue, "The fan-out queue's redrive target");
    this.fanOutQueue = new Queue(this, 'FanOutQueue', {
      ...queueDefaults,
      // A shard is live delivery: a day later clients have long read the message from history.
      retentionPeriod: Duration.days(1),
      visibilityTimeout: Duration.seconds(FANOUT_VISIBILITY_SECONDS),
      deadLetterQueue: { queue: this.fanOutDeadLetterQueue, maxReceiveCount: FANOUT_MAX_RECEIVE_COUNT },
    });
    this.timerDeadLetterQueue = new Queue(this, 'TimerDeadLetterQueue', queueDefaults);
    deadLetter(this.timerDeadLetterQueue, "Every timer schedule's DeadLetterConfig (Scheduler's delivery failures)");
    this.timerFailureQueue = new Queue(this, 'TimerFailureQueue', queueDefaults);
    deadLetter(this.timerFailureQueue, "The timer function's on-failure destination");
    this.complianceExportFailureQueue = new Queue(this, 'ComplianceExportFailureQueue', queueDefaults);
    deadLetter(this.complianceExportFailureQueue, "The compliance export's on-failure destination");

    this.accessLogsBucket = new Bucket(this, 'AccessLogs', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    NagSuppressions.addResourceSuppressions(this.accessLogsBucket, [
      { id: 'AwsSolutions-S1', reason: 'The access-log bucket itself: logging it into itself would log forever.' },
    ]);
    this.complianceBucket = new Bucket(this, 'ComplianceArchive', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      // Write once: no one, root included, can overwrite or delete a batch before its retention ends.
      versioned: true,
      objectLockEnabled: true,
      objectLockDefaultRetention: ObjectLockRetention.compliance(Duration.days(settings.complianceRetentionDays)),
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'compliance/',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.filesBucket = new Bucket(this, 'FilesBucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      // Browsers PUT and GET the presigned URLs from the web client's origin; the signature is the authorization.
      cors: [{ allowedMethods: [HttpMethods.PUT, HttpMethods.GET, HttpMethods.HEAD], allowedOrigins: ['*'], allowedHeaders: ['*'], exposedHeaders: ['ETag'], maxAge: 3000 }],
      lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'files/',
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Anything in one of these queues is work that will not happen on its own (docs/deploy.md, "Alarms").
    for (const [id, queue, what] of [
      ['ComplianceDeadLetterAlarm', this.complianceDeadLetterQueue, 'compliance events the consumer could not store'],
      ['TimerDeadLetterAlarm', this.timerDeadLetterQueue, 'timer firings Scheduler could not deliver'],
      ['TimerFailureAlarm', this.timerFailureQueue, 'timer firings the timer function failed on three times'],
      ['ComplianceExportFailureAlarm', this.complianceExportFailureQueue, 'compliance export runs that failed'],
      ['FanOutDeadLetterAlarm', this.fanOutDeadLetterQueue, 'fan-out shards of large rooms the worker failed on three times'],
    ] as const) {
      new Alarm(this, id, {
        metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `The queue holds ${what}; see docs/deploy.md ("Alarms") to replay them.`,
      }).addAlarmAction(new SnsAction(this.alarmTopic));
    }
    new Alarm(this, 'ComplianceQueueAgeAlarm', {
      metric: this.complianceQueue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 300,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: 'A compliance event has waited over 5 minutes for the consumer: it is failing, throttled or not running.',
    }).addAlarmAction(new SnsAction(this.alarmTopic));

    if (!settings.oidc) {
      this.userPool = new UserPool(this, 'Users', {
        selfSignUpEnabled: false,
        signInAliases: { email: true },
        standardAttributes: { email: { required: true, mutable: true }, fullname: { required: false, mutable: true } },
        passwordPolicy: { minLength: 12, requireDigits: true, requireLowercase: true, requireUppercase: true, requireSymbols: true },
        mfa: Mfa.REQUIRED,
        mfaSecondFactor: { otp: true, sms: false },
        accountRecovery: AccountRecovery.EMAIL_ONLY,
        deletionProtection: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      NagSuppressions.addResourceSuppressions(this.userPool, [
        {
          id: 'AwsSolutions-COG3',
          reason: "Threat protection needs Cognito's Plus plan (priced per user); MFA is required instead. Enable it in the console if wanted.",
        },
      ]);
      this.userPoolDomain = this.userPool.addDomain('HostedSignIn', { cognitoDomain: { domainPrefix: settings.cognitoDomainPrefix ?? `uc-${this.account}` } });
      for (const group of Object.values(IDENTITY_GROUPS)) {
        new CfnUserPoolGroup(this, `${group[0]!.toUpperCase()}${group.slice(1)}Group`, {
          userPoolId: this.userPool.userPoolId,
          groupName: group,
          description: `Members sign in as kind '${group}' (docs/deploy.md, "Identity mapping")`,
        });
      }
    }
  }
}
