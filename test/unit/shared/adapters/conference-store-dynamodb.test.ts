import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoConferenceStore } from '../../../../shared/adapters/conference-store-dynamodb';

/**
 * The reads the lobby news is computed from (`conf.lobbyWait`'s `presenterPresent`, shared/conference/participation.ts
 * and admission.ts) come right after the caller's own write, or race another's: an eventually consistent read could
 * miss either, and nothing would be sent. They query the base table (a GSI cannot read consistently), consistently.
 */
function recordingClient() {
  const sent: unknown[] = [];
  const client = {
    send: async (command: unknown) => {
      sent.push(command);
      return { Items: [] };
    },
  } as unknown as DynamoDBDocumentClient;
  return { client, sent };
}

test.each([
  ['participants', (store: DynamoConferenceStore) => store.participants('c1', 'act-1')],
  ['lobby', (store: DynamoConferenceStore) => store.lobby('c1')],
])("the conference's %s are a strongly consistent query of the base table", async (_name, read) => {
  const { client, sent } = recordingClient();
  await read(new DynamoConferenceStore(client, 'uc-table'));
  expect(sent).toHaveLength(1);
  const command = sent[0] as QueryCommand;
  expect(command).toBeInstanceOf(QueryCommand);
  expect(command.input).toMatchObject({ TableName: 'uc-table', ConsistentRead: true, ExpressionAttributeValues: expect.objectContaining({ ':pk': 'CONF#c1' }) });
  expect(command.input.IndexName).toBeUndefined();
});
