import { SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from '../../config';
import { translateAwsErrors } from '../aws-errors';
import { requestHandler } from './options';

let client: SQSClient | undefined;

/** SQS's client (the compliance and fan-out queues), one per process (SQS_REQUEST_TIMEOUT_MS, the SDK's 3 attempts). */
export function sqsClient(config: Pick<Config, 'SQS_REQUEST_TIMEOUT_MS' | 'SDK_CONNECT_TIMEOUT_MS'>): SQSClient {
  if (client) return client;
  client = new SQSClient({ requestHandler: requestHandler(config, config.SQS_REQUEST_TIMEOUT_MS) });
  translateAwsErrors(client, 'sqs');
  return client;
}
