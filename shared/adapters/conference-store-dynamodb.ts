import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { ComplianceEvent } from '../compliance/event';
import type { Conference, LobbyEntry, Participant, Role } from '../conference/conference';
import type {
  AddOutcome,
  ConferenceContent,
  ConferenceMessage,
  ConferenceStore,
  EntryConditions,
  MeetingIndexEntry,
  MeetingIndexPage,
  MessagePage,
  MessageResult,
  PostOutcome,
  ScheduleResult,
} from '../conference/ports';
import { decodeMessageCursor, encodeMessageCursor, messageSortKey } from '../conference/message-cursor';
import { meetingIndexEntries, meetingIndexKey } from '../conference/meeting-list';
import type { PageFit } from '../protocol/frame-fit';
import { outboxPut } from './compliance-outbox-dynamodb';
import { TABLE_KEYS, ttlSeconds } from './dynamodb';
import { isConditionFailure } from './aws-errors';
import { batchGetAll, batchWriteAll, queryAll, transactWrite } from './dynamodb-operations';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

const META = (confId: string) => ({ PK: `CONF#${confId}`, SK: 'META' });
const PART = (confId: string, uri: string) => ({ PK: `CONF#${confId}`, SK: `PART#${uri}` });
const LOBBY = (confId: string, uri: string) => ({ PK: `CONF#${confId}`, SK: `LOBBY#${uri}` });
const LINK = (connectionId: string, confId: string) => ({ PK: `CONNCONF#${connectionId}`, SK: `CONF#${confId}` });
const STATIC = (organizer: string) => ({ PK: `STATIC#${organizer}`, SK: 'STATIC' });
/** A user's meeting index (`conf.list`): one item per meeting they organize or are invited to, newest last. */
const MYCONF = (uri: string, entry: Pick<MeetingIndexEntry, 'scheduledAt' | 'confId'>) => ({ PK: `MYCONF#${uri}`, SK: meetingIndexKey(entry) });
const SCHEDULE_ANSWER = (organizer: string, clientKey: string) => ({ PK: `IDEM#${organizer}#conf.schedule#${clientKey}`, SK: 'IDEM' });
/** An activation's meeting IM: its own partition, so `conf.messages` is one Query (newest first) and a new activation starts empty. */
const MESSAGES_PK = (confId: string, activationInstance: string) => `CONFIM#${confId}#${activationInstance}`;
const MESSAGE_ANSWER = (uri: string, clientMsgId: string) => ({ PK: `IDEM#${uri}#conf.message#${clientMsgId}`, SK: 'IDEM' });
const MESSAGE_ANSWER_RETENTION_MS = 24 * 3600 * 1000;
/** Whose a link is (`act#{activationInstance}` or `lobby#{since}`), so an ended activation's clean-up deletes only its own. */
const participantLink = (participant: Pick<Participant, 'activationInstance'>) => `act#${participant.activationInstance}`;
const lobbyLink = (entry: Pick<LobbyEntry, 'since'>) => `lobby#${entry.since}`;
/** DynamoDB's TransactWriteItems limit. */
const TRANSACTION_LIMIT = 100;
/** Links outlive any connection (2 hours at most); TTL removes them. */
const LINK_RETENTION_MS = 24 * 3600 * 1000;
const SCHEDULE_ANSWER_RETENTION_MS = 24 * 3600 * 1000;
/** DynamoDB's BatchWriteItem limit. */
const BATCH_LIMIT = 25;

/**
 * Conferences in the single table: `CONF#{id}` holds `META` (the conference and its active record,
 * indexed on GSI1 by organizer), `PART#{uri}`, `LOBBY#{uri}` and `CONTENT#{ts}#{id}`;
 * `CONNCONF#{connectionId}` / `CONF#{id}` links a connection to the conferences it is in, `STATIC#{organizer}`
 * names the organizer's static meeting space, `CONFIM#{id}#{activationInstance}` / `MSG#{ts}#{messageId}` holds an
 * activation's meeting IM and `IDEM#{uri}#conf.message#{clientMsgId}` a `conf.message`'s answer. Joins and leaves write their compliance event to the outbox
 * (`OUTBOX#{shard}`) in the same transaction.
 */
export class DynamoConferenceStore implements ConferenceStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(confId: string): Promise<Conference | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: META(confId), ConsistentRead: true }));
    return Item ? (strip(Item, 'GSI1PK', 'GSI1SK') as unknown as Conference) : undefined;
  }

  async schedule(conference: Conference, result: ScheduleResult, clientKey?: string, staticSpace?: { readonly replacing?: string }): Promise<ScheduleResult> {
    const items: TransactItem[] = [{ Put: { TableName: this.tableName, Item: this.metaItem(conference), ConditionExpression: 'attribute_not_exists(PK)' } }];
    // The organizer's `conf.list` entry goes with the conference: an organizer who reloads always finds it.
    const [organizerEntry] = meetingIndexEntries(conference);
    if (organizerEntry) items.push(this.put(this.meetingIndexItem(organizerEntry)));
    const staticIndex = staticSpace
      ? items.push({
          Put: {
            TableName: this.tableName,
            Item: { ...STATIC(conference.organizer), confId: conference.confId, result },
            ...(staticSpace.replacing
              ? { ConditionExpression: 'confId = :replacing', ExpressionAttributeValues: { ':replacing': staticSpace.replacing } }
              : { ConditionExpression: 'attribute_not_exists(PK)' }),
          },
        }) - 1
      : -1;
    const answerKey = clientKey ? SCHEDULE_ANSWER(conference.organizer, clientKey) : undefined;
    const answerIndex = items.length;
    if (answerKey) {
      items.push({
        Put: {
          TableName: this.tableName,
          Item: { ...answerKey, result, [TABLE_KEYS.ttlAttribute]: ttlSeconds(conference.createdAt + SCHEDULE_ANSWER_RETENTION_MS) },
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      });
    }
    try {
      await this.client.send(new TransactWriteCommand({ TransactItems: items }));
      return result;
    } catch (error) {
      const reasons = error instanceof TransactionCanceledException ? (error.CancellationReasons ?? []) : [];
      const failedOn = (index: number) => index >= 0 && reasons[index]?.Code === 'ConditionalCheckFailed';
      if (answerKey && failedOn(answerIndex)) {
        const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: answerKey, ConsistentRead: true }));
        return Item?.result as ScheduleResult;
      }
      // Another request created or reset the static space first: that one is the space.
      if (failedOn(staticIndex)) {
        const space = await this.staticSpace(conference.organizer);
        if (space) return space;
      }
      throw error;
    }
  }

  async scheduled(organizer: string, clientKey: string): Promise<ScheduleResult | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: SCHEDULE_ANSWER(organizer, clientKey), ConsistentRead: true }));
    return Item?.result as ScheduleResult | undefined;
  }

  async staticSpace(organizer: string): Promise<ScheduleResult | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: STATIC(organizer), ConsistentRead: true }));
    return Item?.result as ScheduleResult | undefined;
  }

  async commit(next: Conference, seenVersion: number, events: readonly ComplianceEvent[] = []): Promise<boolean> {
    // The events that fit go in the transaction; a deactivation of a meeting larger than that writes the rest right after.
    const inTransaction = events.slice(0, TRANSACTION_LIMIT - 1);
    const committed = (await this.transact([this.putMeta(next, seenVersion), ...inTransaction.map((event) => outboxPut(this.tableName, event))])).length === 0;
    if (committed) {
      for (let start = inTransaction.length; start < events.length; start += TRANSACTION_LIMIT) {
        await transactWrite(this.client, events.slice(start, start + TRANSACTION_LIMIT).map((event) => outboxPut(this.tableName, event)));
      }
    }
    return committed;
  }

  async activate(
    next: Conference,
    seenVersion: number,
    participant: Participant,
    connectionId: string,
    joinEvent: ComplianceEvent,
    conditions: Pick<EntryConditions, 'fromLobby'> = {},
  ): Promise<boolean> {
    const failed = await this.transact([
      this.putMeta(next, seenVersion),
      this.put({ ...PART(next.confId, participant.uri), ...participant }),
      this.link(connectionId, next.confId, participantLink(participant)),
      this.leaveLobby(next.confId, participant.uri, conditions.fromLobby),
      outboxPut(this.tableName, joinEvent),
    ]);
    return failed.length === 0;
  }

  async addParticipant(
    confId: string,
    participant: Participant,
    connectionId: string,
    enterprise: boolean,
    joinEvent: ComplianceEvent,
    conditions: EntryConditions = {},
  ): Promise<AddOutcome> {
    const failed = await this.transact([
      {
        Update: {
          TableName: this.tableName,
          Key: META(confId),
          UpdateExpression:
            'SET active.lastJoinTime = :now ADD stateVersion :one, active.participantCount :one, active.enterpriseCount :enterprise, active.hiddenCount :hidden',
          // A newcomer decided on an unlocked read enters only if no lock landed since (the lock is then decided again).
          ConditionExpression: `#state = :active AND active.activationInstance = :instance${conditions.unlocked ? ' AND active.locked = :unlocked' : ''}`,
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':now': participant.joinedAt,
            ':one': 1,
            ':enterprise': enterprise ? 1 : 0,
            ':hidden': participant.hidden ? 1 : 0,
            ':active': 'active',
            ':instance': participant.activationInstance,
            ...(conditions.unlocked ? { ':unlocked': false } : {}),
          },
        },
      },
      {
        Put: {
          TableName: this.tableName,
          Item: { ...PART(confId, participant.uri), ...participant },
          // Counted once: a participant of this activation who is already in only adds an endpoint.
          ConditionExpression: 'attribute_not_exists(PK) OR activationInstance <> :instance',
          ExpressionAttributeValues: { ':instance': participant.activationInstance },
        },
      },
      this.link(connectionId, confId, participantLink(participant)),
      this.leaveLobby(confId, participant.uri, conditions.fromLobby),
      outboxPut(this.tableName, joinEvent),
    ]);
    if (failed.length === 0) return 'added';
    return failed.includes(0) ? 'notActive' : failed.includes(3) ? 'notWaiting' : 'alreadyIn';
  }

  async addConnection(confId: string, participant: Participant, connectionId: string, joinEvent: ComplianceEvent): Promise<boolean> {
    const failed = await this.transact([
      {
        Update: {
          TableName: this.tableName,
          Key: PART(confId, participant.uri),
          UpdateExpression: 'SET connectionIds = list_append(connectionIds, :connection)',
          ConditionExpression: 'activationInstance = :instance',
          ExpressionAttributeValues: { ':connection': [connectionId], ':instance': participant.activationInstance },
        },
      },
      this.link(connectionId, confId, participantLink(participant)),
      outboxPut(this.tableName, joinEvent),
    ]);
    return failed.length === 0;
  }

  async removeParticipant(confId: string, participant: Participant, enterprise: boolean, now: number, leaveEvent: ComplianceEvent): Promise<boolean> {
    const failed = await this.transact([
      {
        Update: {
          TableName: this.tableName,
          Key: META(confId),
          UpdateExpression: enterprise
            ? 'SET active.lastLeaveTime = :now, active.lastEnterpriseLeaveTime = :now ADD stateVersion :one, active.participantCount :minus, active.enterpriseCount :minus, active.hiddenCount :hidden'
            : 'SET active.lastLeaveTime = :now ADD stateVersion :one, active.participantCount :minus, active.hiddenCount :hidden',
          ConditionExpression: '#state = :active AND active.activationInstance = :instance',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':now': now,
            ':one': 1,
            ':minus': -1,
            ':hidden': participant.hidden ? -1 : 0,
            ':active': 'active',
            ':instance': participant.activationInstance,
          },
        },
      },
      {
        Delete: {
          TableName: this.tableName,
          Key: PART(confId, participant.uri),
          // With the endpoints and the stay read: another device that joined since keeps the participant in, and a
          // participant who left and came back is another stay (its own leave event); either way decided again.
          ConditionExpression: 'activationInstance = :instance AND connectionIds = :connections AND joinedAt = :joinedAt',
          ExpressionAttributeValues: { ':instance': participant.activationInstance, ':connections': participant.connectionIds, ':joinedAt': participant.joinedAt },
        },
      },
      ...participant.connectionIds.map((connectionId) => this.delete(LINK(connectionId, confId))),
      outboxPut(this.tableName, leaveEvent),
    ]);
    return failed.length === 0;
  }

  async removeConnection(confId: string, participant: Participant, connectionId: string): Promise<boolean> {
    const remaining = participant.connectionIds.filter((id) => id !== connectionId);
    const failed = await this.transact([
      {
        Update: {
          TableName: this.tableName,
          Key: PART(confId, participant.uri),
          UpdateExpression: 'SET connectionIds = :remaining',
          // On the list read: an endpoint added since is not overwritten (the caller reads again).
          ConditionExpression: 'activationInstance = :instance AND connectionIds = :read',
          ExpressionAttributeValues: { ':remaining': remaining, ':instance': participant.activationInstance, ':read': participant.connectionIds },
        },
      },
      this.delete(LINK(connectionId, confId)),
    ]);
    return failed.length === 0;
  }

  async setRole(confId: string, participant: Participant, role: Role): Promise<boolean> {
    const failed = await this.transact([
      {
        Update: {
          TableName: this.tableName,
          Key: PART(confId, participant.uri),
          UpdateExpression: 'SET #role = :role',
          // That stay only: a participant who left (no item), was ejected or came back since is decided again.
          ConditionExpression: 'activationInstance = :instance AND joinedAt = :joinedAt',
          ExpressionAttributeNames: { '#role': 'role' },
          ExpressionAttributeValues: { ':role': role, ':instance': participant.activationInstance, ':joinedAt': participant.joinedAt },
        },
      },
    ]);
    return failed.length === 0;
  }

  async postMessage(
    message: ConferenceMessage,
    result: MessageResult,
    sender: Pick<Participant, 'uri' | 'activationInstance' | 'joinedAt'>,
    complianceEvent: ComplianceEvent,
    clientMsgId?: string,
  ): Promise<PostOutcome> {
    const items: TransactItem[] = [
      {
        ConditionCheck: {
          TableName: this.tableName,
          Key: PART(message.confId, sender.uri),
          // The sender's stay read is still in: a message racing a leave or an ejection is decided again.
          ConditionExpression: 'activationInstance = :instance AND joinedAt = :joinedAt',
          ExpressionAttributeValues: { ':instance': sender.activationInstance, ':joinedAt': sender.joinedAt },
        },
      },
      this.put({ PK: MESSAGES_PK(message.confId, message.activationInstance), SK: messageSortKey(message), ...message }),
      outboxPut(this.tableName, complianceEvent),
    ];
    const answerIndex = clientMsgId
      ? items.push({
          Put: {
            TableName: this.tableName,
            Item: { ...MESSAGE_ANSWER(sender.uri, clientMsgId), result, [TABLE_KEYS.ttlAttribute]: ttlSeconds(result.ts + MESSAGE_ANSWER_RETENTION_MS) },
            ConditionExpression: 'attribute_not_exists(PK)',
          },
        }) - 1
      : -1;
    const failed = await this.transact(items);
    if (failed.length === 0) return { kind: 'posted' };
    if (clientMsgId && failed.includes(answerIndex)) {
      const earlier = await this.replayMessage(sender.uri, clientMsgId);
      if (earlier) return { kind: 'replayed', result: earlier };
    }
    return { kind: 'lost' };
  }

  async replayMessage(uri: string, clientMsgId: string): Promise<MessageResult | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: MESSAGE_ANSWER(uri, clientMsgId), ConsistentRead: true }));
    return Item?.result as MessageResult | undefined;
  }

  async messages(confId: string, activationInstance: string, limit: number, before?: string, fit?: PageFit<ConferenceMessage>): Promise<MessagePage> {
    const pk = MESSAGES_PK(confId, activationInstance);
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :msg)',
        ExpressionAttributeValues: { ':pk': pk, ':msg': 'MSG#' },
        ExclusiveStartKey: before ? { PK: pk, SK: decodeMessageCursor(before) } : undefined,
        ScanIndexForward: false,
        ConsistentRead: true,
        // One extra item tells whether there is more; the cursor is the sort key of the last one answered.
        Limit: limit + 1,
      }),
    );
    const items = page.Items ?? [];
    const all = items.slice(0, limit).map((item) => strip(item) as unknown as ConferenceMessage);
    const kept = fit ? fit(all) : all.length;
    const last = items[kept - 1];
    return { messages: all.slice(0, kept), ...(items.length > kept && last ? { cursor: encodeMessageCursor(String(last.SK)) } : {}) };
  }

  async putLobby(confId: string, entry: LobbyEntry): Promise<void> {
    await this.transact([this.put({ ...LOBBY(confId, entry.uri), ...entry }), this.link(entry.connectionId, confId, lobbyLink(entry))]);
  }

  async deleteLobby(confId: string, entry: LobbyEntry): Promise<boolean> {
    // Only that wait: an admitted user's link (now the participant's) and a new wait stay.
    const failed = await this.transact([
      this.leaveLobby(confId, entry.uri, entry),
      {
        Delete: {
          TableName: this.tableName,
          Key: LINK(entry.connectionId, confId),
          ConditionExpression: 'attribute_not_exists(PK) OR #owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': lobbyLink(entry) },
        },
      },
    ]);
    return failed.length === 0;
  }

  /**
   * Strongly consistent (the base table, not a GSI): what the lobby hears (`conf.lobbyWait`) is decided on this list
   * right after the caller's own join or leave, or against another's at the same moment; a stale read would miss it.
   */
  async participants(confId: string, activationInstance: string): Promise<Participant[]> {
    const items = await this.queryAll({
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :part)',
      ExpressionAttributeValues: { ':pk': `CONF#${confId}`, ':part': 'PART#' },
      ConsistentRead: true,
    });
    // Items of an earlier activation that cleanup missed are not participants of this one.
    return items.map((item) => strip(item) as unknown as Participant).filter((participant) => participant.activationInstance === activationInstance);
  }

  async participant(confId: string, uri: string): Promise<Participant | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: PART(confId, uri), ConsistentRead: true }));
    return Item ? (strip(Item) as unknown as Participant) : undefined;
  }

  /** Strongly consistent, as `participants`: a guest entering the lobby and the first presenter joining each see the other's write. */
  async lobby(confId: string): Promise<LobbyEntry[]> {
    const items = await this.queryAll({
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :lobby)',
      ExpressionAttributeValues: { ':pk': `CONF#${confId}`, ':lobby': 'LOBBY#' },
      ConsistentRead: true,
    });
    return items.map((item) => strip(item) as unknown as LobbyEntry);
  }

  async lobbyEntry(confId: string, uri: string): Promise<LobbyEntry | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: LOBBY(confId, uri), ConsistentRead: true }));
    return Item ? (strip(Item) as unknown as LobbyEntry) : undefined;
  }

  async conferencesOfConnection(connectionId: string): Promise<string[]> {
    const items = await this.queryAll({ KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': `CONNCONF#${connectionId}` } });
    return items.map((item) => String(item.confId));
  }

  async conferencesOfOrganizer(uri: string): Promise<string[]> {
    const items = await this.queryAll({
      IndexName: TABLE_KEYS.gsi1.name,
      KeyConditionExpression: 'GSI1PK = :organizer',
      ExpressionAttributeValues: { ':organizer': `ORG#${uri}` },
    });
    return items.map((item) => String(item.confId));
  }

  async indexInvitees(conference: Conference): Promise<void> {
    const others = meetingIndexEntries(conference).filter((entry) => entry.role !== 'organizer');
    await batchWriteAll(this.client, this.tableName, others.map((entry) => ({ PutRequest: { Item: this.meetingIndexItem(entry) } })));
  }

  async meetingsOf(uri: string, limit: number, after?: string): Promise<MeetingIndexPage> {
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: after === undefined ? 'PK = :pk' : 'PK = :pk AND SK < :after',
        ExpressionAttributeValues: { ':pk': `MYCONF#${uri}`, ...(after === undefined ? {} : { ':after': after }) },
        ScanIndexForward: false,
        Limit: limit + 1,
      }),
    );
    const entries = Items.slice(0, limit).map((item) => ({ confId: String(item.confId), role: item.role as MeetingIndexEntry['role'], scheduledAt: Number(item.scheduledAt) }));
    const last = entries[entries.length - 1];
    return { entries, ...(Items.length > limit && last ? { next: meetingIndexKey(last) } : {}) };
  }

  async getMany(confIds: readonly string[]): Promise<Map<string, Conference>> {
    const items = await batchGetAll(this.client, this.tableName, [...new Set(confIds)].map((confId) => META(confId)));
    return new Map(items.map((item) => [String(item.confId), strip(item, 'GSI1PK', 'GSI1SK') as unknown as Conference]));
  }

  async unindexMeetings(uri: string, entries: readonly MeetingIndexEntry[]): Promise<void> {
    await this.deleteKeys(entries.map((entry) => MYCONF(uri, entry)));
  }

  async addContent(confId: string, content: ConferenceContent): Promise<void> {
    await this.client.send(
      new PutCommand({ TableName: this.tableName, Item: { PK: `CONF#${confId}`, SK: `CONTENT#${String(content.addedAt).padStart(15, '0')}#${content.contentId}`, ...content } }),
    );
  }

  async content(confId: string): Promise<ConferenceContent[]> {
    const items = await this.queryAll({ KeyConditionExpression: 'PK = :pk AND begins_with(SK, :content)', ExpressionAttributeValues: { ':pk': `CONF#${confId}`, ':content': 'CONTENT#' } });
    return items.map((item) => strip(item) as unknown as ConferenceContent);
  }

  async purgeContent(confId: string): Promise<void> {
    const items = await this.queryAll({
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :content)',
      ExpressionAttributeValues: { ':pk': `CONF#${confId}`, ':content': 'CONTENT#' },
      ProjectionExpression: 'PK, SK',
    });
    await this.deleteKeys(items.map((item) => ({ PK: item.PK, SK: item.SK })));
  }

  async clearActivation(confId: string, activationInstance: string, participants: readonly Participant[], lobby: readonly LobbyEntry[]): Promise<void> {
    const owner = participantLink({ activationInstance });
    const deletes: (readonly [Record<string, unknown>, string, Record<string, unknown>])[] = [
      ...participants.map((participant) => [PART(confId, participant.uri), 'activationInstance = :value', { ':value': activationInstance }] as const),
      ...participants.flatMap((participant) => participant.connectionIds.map((connectionId) => [LINK(connectionId, confId), '#owner = :value', { ':value': owner }] as const)),
      ...lobby.map((entry) => [LOBBY(confId, entry.uri), 'since = :value', { ':value': entry.since }] as const),
      ...lobby.map((entry) => [LINK(entry.connectionId, confId), '#owner = :value', { ':value': lobbyLink(entry) }] as const),
    ];
    // The activation's meeting IM goes with it (a new activation starts empty; the archive has every message).
    const messages = await this.queryAll({
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': MESSAGES_PK(confId, activationInstance) },
      ProjectionExpression: 'PK, SK',
    });
    await this.deleteKeys(messages.map((item) => ({ PK: item.PK, SK: item.SK })));
    for (let start = 0; start < deletes.length; start += BATCH_LIMIT) {
      await Promise.all(
        deletes.slice(start, start + BATCH_LIMIT).map(async ([Key, ConditionExpression, ExpressionAttributeValues]) => {
          try {
            await this.client.send(
              new DeleteCommand({
                TableName: this.tableName,
                Key,
                ConditionExpression,
                ExpressionAttributeValues,
                ...(ConditionExpression.includes('#owner') ? { ExpressionAttributeNames: { '#owner': 'owner' } } : {}),
              }),
            );
          } catch (error) {
            // Already gone, or rewritten by a rejoin (or a new lobby wait) since the deactivation: not this activation's to delete.
            if (!isConditionFailure(error)) throw error;
          }
        }),
      );
    }
  }

  private putMeta(conference: Conference, seenVersion: number): TransactItem {
    return {
      Put: {
        TableName: this.tableName,
        Item: this.metaItem(conference),
        ConditionExpression: 'stateVersion = :seen',
        ExpressionAttributeValues: { ':seen': seenVersion },
      },
    };
  }

  private link(connectionId: string, confId: string, owner: string): TransactItem {
    return this.put({ ...LINK(connectionId, confId), confId, owner, [TABLE_KEYS.ttlAttribute]: ttlSeconds(Date.now() + LINK_RETENTION_MS) });
  }

  /** A transaction cancelled by a conflicting one is a lost race: the caller re-reads and retries. */
  private transact(items: TransactItem[]): Promise<number[]> {
    return transactWrite(this.client, items, { conflictAsLost: true });
  }

  private meetingIndexItem(entry: MeetingIndexEntry & { readonly uri: string }): Record<string, unknown> {
    return { ...MYCONF(entry.uri, entry), confId: entry.confId, role: entry.role, scheduledAt: entry.scheduledAt };
  }

  private metaItem(conference: Conference): Record<string, unknown> {
    return { ...META(conference.confId), GSI1PK: `ORG#${conference.organizer}`, GSI1SK: `CONF#${conference.confId}`, ...conference };
  }

  /** Removes the user's lobby item; with `wait`, only that wait (it must still be there: admitted from the lobby). */
  private leaveLobby(confId: string, uri: string, wait?: Pick<LobbyEntry, 'since'>): TransactItem {
    if (!wait) return this.delete(LOBBY(confId, uri));
    return { Delete: { TableName: this.tableName, Key: LOBBY(confId, uri), ConditionExpression: 'since = :since', ExpressionAttributeValues: { ':since': wait.since } } };
  }

  private put(item: Record<string, unknown>): TransactItem {
    return { Put: { TableName: this.tableName, Item: item } };
  }

  private delete(key: { PK: string; SK: string }): TransactItem {
    return { Delete: { TableName: this.tableName, Key: key } };
  }

  private queryAll(input: Omit<QueryCommandInput, 'TableName'>): Promise<Record<string, unknown>[]> {
    return queryAll(this.client, { TableName: this.tableName, ...input });
  }

  private async deleteKeys(keys: readonly Record<string, unknown>[]): Promise<void> {
    const unique = [...new Map(keys.map((key) => [`${key.PK}|${key.SK}`, key])).values()];
    for (let start = 0; start < unique.length; start += BATCH_LIMIT) {
      let requests: NonNullable<ConstructorParameters<typeof BatchWriteCommand>[0]['RequestItems']>[string] = unique
        .slice(start, start + BATCH_LIMIT)
        .map((Key) => ({ DeleteRequest: { Key } }));
      // Unprocessed items come back under load; send them again until none remain.
      for (let attempt = 0; requests.length > 0 && attempt < 5; attempt++) {
        const answer = await this.client.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }));
        requests = answer.UnprocessedItems?.[this.tableName] ?? [];
      }
    }
  }
}

function strip(item: Record<string, unknown>, ...extra: string[]): Record<string, unknown> {
  const copy = { ...item };
  for (const key of ['PK', 'SK', TABLE_KEYS.ttlAttribute, ...extra]) delete copy[key];
  return copy;
}
