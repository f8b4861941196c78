import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
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
  }
}
