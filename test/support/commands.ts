import type { CommandArgs, UcClient } from '../../client/src';
import { newId } from '../../shared/ids';
import type { TestClient } from './client';

/** Commands on raw test connections (TestClient) and client-library clients that the end-to-end suites share. */

/** A command that must answer 200: its body, or a failure naming the status and error. */
export async function ok(client: TestClient, action: string, args: Record<string, unknown> = {}, timeoutMs?: number): Promise<Record<string, unknown>> {
  const response = await client.request(action, args, timeoutMs);
  if (response.status !== 200) throw new Error(`${action} answered ${response.status}: ${JSON.stringify(response.error)}`);
  return response.body!;
}

/** A room with a fresh name, created on a raw connection; answers its id. */
export async function createRoom(client: TestClient, args: Record<string, unknown> = {}, timeoutMs?: number): Promise<string> {
  return String((await ok(client, 'room.create', { name: `room ${newId('n')}`, ...args }, timeoutMs)).roomId);
}

/** A room with a fresh name, created through the client library (it adds a clientId, so each call creates one). */
export async function createLibraryRoom(client: UcClient, args: Partial<CommandArgs<'room.create'>> = {}): Promise<string> {
  return (await client.request('room.create', { name: `room ${newId('n')}`, ...args })).roomId;
}

/** Every frame the server sent these connections before now has arrived (frames on one socket are in order). */
export async function settled(...clients: TestClient[]): Promise<void> {
  for (const client of clients) await ok(client, 'ping');
}
