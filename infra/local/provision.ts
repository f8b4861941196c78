import { BucketAlreadyOwnedByYou, CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { ConflictException, CreateScheduleGroupCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { putSchedule } from '../../shared/adapters/scheduler-timers';
import { rateExpression } from '../../shared/timers/schedule-names';
import { COMPLIANCE_EXPORT_SCHEDULE, COMPLIANCE_MAX_RECEIVE_COUNT, FANOUT_MAX_RECEIVE_COUNT, FANOUT_VISIBILITY_SECONDS, LOCAL_RESOURCE_NAMES } from '../functions';
import { localFunctionArn } from './lambdas';

export interface ProvisionedResources {
  readonly complianceQueueUrl: string;
  readonly complianceQueueArn: string;
  readonly complianceDeadLetterQueueUrl: string;
  readonly fanOutQueueUrl: string;
  readonly fanOutQueueArn: string;
  readonly fanOutDeadLetterQueueUrl: string;
  readonly timerDeadLetterQueueArn: string;
  readonly scheduleGroup: string;
  readonly filesBucket: string;
}

/**
 * Creates what the CDK stack would, through the AWS SDK, so it works the same against the local cloud's
 * endpoint and LocalStack: the compliance queue with its dead-letter queue, the timers' dead-letter
 * queue, the schedule group and the chat files bucket. Every call is idempotent, so it runs at every start.
 */
export async function provisionResources(endpoint: string, complianceVisibilitySeconds = 30, fanOutVisibilitySeconds = FANOUT_VISIBILITY_SECONDS): Promise<ProvisionedResources> {
  const sqs = new SQSClient({ endpoint });
  const scheduler = new SchedulerClient({ endpoint });
  const queueArn = async (QueueUrl: string) =>
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn ?? '';

  const complianceDeadLetterQueueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: LOCAL_RESOURCE_NAMES.complianceDeadLetterQueue })))
    .QueueUrl!;
  const complianceQueueUrl = (
    await sqs.send(
      new CreateQueueCommand({
        QueueName: LOCAL_RESOURCE_NAMES.complianceQueue,
        Attributes: {
          VisibilityTimeout: String(complianceVisibilitySeconds),
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: await queueArn(complianceDeadLetterQueueUrl),
            maxReceiveCount: COMPLIANCE_MAX_RECEIVE_COUNT,
          }),
        },
      }),
    )
  ).QueueUrl!;
  // The fan-out tier's queue of shards (docs/architecture.md, "Fan-out tier"), with its dead-letter queue.
  const fanOutDeadLetterQueueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: LOCAL_RESOURCE_NAMES.fanOutDeadLetterQueue }))).QueueUrl!;
  const fanOutQueueUrl = (
    await sqs.send(
      new CreateQueueCommand({
        QueueName: LOCAL_RESOURCE_NAMES.fanOutQueue,
        Attributes: {
          VisibilityTimeout: String(fanOutVisibilitySeconds),
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: await queueArn(fanOutDeadLetterQueueUrl), maxReceiveCount: FANOUT_MAX_RECEIVE_COUNT }),
        },
      }),
    )
  ).QueueUrl!;
  const timerDeadLetterQueueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: LOCAL_RESOURCE_NAMES.timerDeadLetterQueue }))).QueueUrl!;
  const timerDeadLetterQueueArn = await queueArn(timerDeadLetterQueueUrl);
  try {
    await scheduler.send(new CreateScheduleGroupCommand({ Name: LOCAL_RESOURCE_NAMES.scheduleGroup }));
  } catch (error) {
    if (!(error instanceof ConflictException)) throw error;
  }
  // Path-style: `{bucket}.localhost` does not resolve; LocalStack takes both.
  const s3 = new S3Client({ endpoint, forcePathStyle: true });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: LOCAL_RESOURCE_NAMES.filesBucket }));
  } catch (error) {
    if (!(error instanceof BucketAlreadyOwnedByYou)) throw error;
  }
  const complianceQueueArn = await queueArn(complianceQueueUrl);
  const fanOutQueueArn = await queueArn(fanOutQueueUrl);
  sqs.destroy();
  scheduler.destroy();
  s3.destroy();
  return {
    complianceQueueUrl,
    complianceQueueArn,
    complianceDeadLetterQueueUrl,
    fanOutQueueUrl,
    fanOutQueueArn,
    fanOutDeadLetterQueueUrl,
    timerDeadLetterQueueArn,
    scheduleGroup: LOCAL_RESOURCE_NAMES.scheduleGroup,
    filesBucket: LOCAL_RESOURCE_NAMES.filesBucket,
  };
}

/**
 * The compliance export's recurring schedule (the CDK stack declares the same): every `periodSeconds`, it
 * invokes the `compliance-export` function. Created or updated at every start, so a changed period applies.
 * No retries: the next period is the retry, and the events wait in the store meanwhile.
 */
export async function provisionComplianceExport(endpoint: string, periodSeconds: number, subMinuteRates = true): Promise<void> {
  const scheduler = new SchedulerClient({ endpoint });
  // `rate(N seconds)` is the local Scheduler's extension only: an external Scheduler (LocalStack, moto, AWS)
  // gets an expression it accepts, and the period in the Description, which the external driver honours.
  const subMinute = periodSeconds % 60 !== 0 && !subMinuteRates;
  try {
    await putSchedule(scheduler, {
      Name: COMPLIANCE_EXPORT_SCHEDULE,
      GroupName: LOCAL_RESOURCE_NAMES.scheduleGroup,
      ScheduleExpression: subMinute ? rateExpression(Math.max(60, Math.ceil(periodSeconds / 60) * 60)) : rateExpression(periodSeconds),
      ...(subMinute ? { Description: `compliance export; uc:period=${periodSeconds}s (driven by the local cloud)` } : {}),
      // A rate schedule without a start fires at once: the first run is one period after start instead, so a
      // process that just started (or a test) sees its events pending for a period.
      StartDate: new Date(Date.now() + periodSeconds * 1000),
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: localFunctionArn('compliance-export'),
        RoleArn: LOCAL_RESOURCE_NAMES.schedulerRoleArn,
        Input: JSON.stringify({ job: 'compliance.export' }),
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
      },
    });
  } finally {
    scheduler.destroy();
  }
}
