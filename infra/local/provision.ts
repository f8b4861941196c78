import { ConflictException, CreateScheduleGroupCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { COMPLIANCE_MAX_RECEIVE_COUNT, LOCAL_RESOURCE_NAMES } from '../functions';

export interface ProvisionedResources {
  readonly complianceQueueUrl: string;
  readonly complianceDeadLetterQueueUrl: string;
  readonly timerDeadLetterQueueArn: string;
  readonly scheduleGroup: string;
}

/**
 * Creates what the CDK stack would, through the AWS SDK, so it works the same against the local cloud's
 * endpoint and LocalStack: the compliance queue with its dead-letter queue, the timers' dead-letter
 * queue and the schedule group. Every call is idempotent, so it runs at every start.
 */
export async function provisionResources(endpoint: string, complianceVisibilitySeconds = 30): Promise<ProvisionedResources> {
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
  const timerDeadLetterQueueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: LOCAL_RESOURCE_NAMES.timerDeadLetterQueue }))).QueueUrl!;
  const timerDeadLetterQueueArn = await queueArn(timerDeadLetterQueueUrl);
  try {
    await scheduler.send(new CreateScheduleGroupCommand({ Name: LOCAL_RESOURCE_NAMES.scheduleGroup }));
  } catch (error) {
    if (!(error instanceof ConflictException)) throw error;
  }
  sqs.destroy();
  scheduler.destroy();
  return {
    complianceQueueUrl,
    complianceDeadLetterQueueUrl,
    timerDeadLetterQueueArn,
    scheduleGroup: LOCAL_RESOURCE_NAMES.scheduleGroup,
  };
}
