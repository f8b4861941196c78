import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { BlockPublicAccess, Bucket, BucketEncryption, HttpMethods, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Duration } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { TABLE_KEYS } from '../../shared/adapters/dynamodb';
import { COMPLIANCE_MAX_RECEIVE_COUNT } from '../functions';

/** What outlives a deployment: the table (with TTL), the token secret and the queues that hold messages. */
export class StatefulStack extends Stack {
  readonly table: Table;
  readonly jwtSecret: Secret;
  readonly complianceQueue: Queue;
  readonly complianceDeadLetterQueue: Queue;
  readonly timerDeadLetterQueue: Queue;
  /** The compliance archive (SPEC §7): one object per export batch, written once, versioned and retained. */
  readonly complianceBucket: Bucket;
  /** Chat files (`chat.file.upload`), put and got by clients through presigned URLs only. */
  readonly filesBucket: Bucket;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE_KEYS.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: TABLE_KEYS.gsi1.name,
      partitionKey: { name: TABLE_KEYS.gsi1.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.gsi1.sortKey, type: AttributeType.STRING },
    });
    this.jwtSecret = new Secret(this, 'AuthJwtSecret', {
      description: 'HS256 secret that signs client tokens (SPEC §1)',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const queueDefaults = { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) };
    this.complianceDeadLetterQueue = new Queue(this, 'ComplianceDeadLetterQueue', queueDefaults);
    this.complianceQueue = new Queue(this, 'ComplianceQueue', {
      ...queueDefaults,
      // Six times the consumer's timeout, as Lambda's SQS event source advises.
      visibilityTimeout: Duration.seconds(90),
      deadLetterQueue: { queue: this.complianceDeadLetterQueue, maxReceiveCount: COMPLIANCE_MAX_RECEIVE_COUNT },
    });
    // Timer firings that Scheduler could not deliver after its retries.
    this.timerDeadLetterQueue = new Queue(this, 'TimerDeadLetterQueue', queueDefaults);
    this.complianceBucket = new Bucket(this, 'ComplianceArchive', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      // An overwrite or delete keeps the earlier version: the archive is evidence.
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Anything in a dead-letter queue is work that will not happen on its own (docs/operations.md: replay).
    for (const [id, queue, what] of [
      ['ComplianceDeadLetterAlarm', this.complianceDeadLetterQueue, 'compliance events the consumer could not store'],
      ['TimerDeadLetterAlarm', this.timerDeadLetterQueue, 'timer firings Scheduler could not deliver'],
    ] as const) {
      new Alarm(this, id, {
        metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `The dead-letter queue holds ${what}; see docs/operations.md to replay them.`,
      });
    }
    this.filesBucket = new Bucket(this, 'FilesBucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      // Browsers PUT and GET the presigned URLs from the web client's origin; the signature is the authorization.
      cors: [{ allowedMethods: [HttpMethods.PUT, HttpMethods.GET, HttpMethods.HEAD], allowedOrigins: ['*'], allowedHeaders: ['*'], exposedHeaders: ['ETag'], maxAge: 3000 }],
      lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
