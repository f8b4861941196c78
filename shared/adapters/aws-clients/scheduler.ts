import { SchedulerClient } from '@aws-sdk/client-scheduler';
import type { Config } from '../../config';
import { translateAwsErrors } from '../aws-errors';
import { requestHandler } from './options';

let client: SchedulerClient | undefined;

/** EventBridge Scheduler's client, one per process (SCHEDULER_REQUEST_TIMEOUT_MS, the SDK's 3 attempts). */
export function schedulerClient(config: Pick<Config, 'SCHEDULER_REQUEST_TIMEOUT_MS' | 'SDK_CONNECT_TIMEOUT_MS'>): SchedulerClient {
  if (client) return client;
  client = new SchedulerClient({ requestHandler: requestHandler(config, config.SCHEDULER_REQUEST_TIMEOUT_MS) });
  translateAwsErrors(client, 'scheduler');
  return client;
}
