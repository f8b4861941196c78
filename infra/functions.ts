import type { Action } from '../shared/protocol/commands';
import { CHAT_ACTIONS, CONFERENCE_ACTIONS, IM_ACTIONS, PRESENCE_ACTIONS, SESSION_ACTIONS, SYSTEM_ACTIONS } from '../shared/protocol/actions';

/**
 * The app's Lambda functions and the WebSocket routes each one serves. The CDK stack and the local cloud
 * both read this list, so the deployed API and the local gateway route every action to the same handler.
 * A command function's routes are its area's list (shared/protocol/actions.ts), the same its route map is checked
 * against; test/unit/infra/actions.test.ts checks every schema'd action is routed, to exactly one function.
 */
export type RouteKey = Action | '$connect' | '$disconnect' | '$default';

/**
 * The parts of the table a function reads and writes, one per store adapter (shared/adapters/*-dynamodb.ts): the
 * function is granted the item calls of those stores (STORE_TABLE_ACTIONS), nothing else.
 */
export type TableStore = 'connections' | 'presence' | 'conversations' | 'conferences' | 'chat' | 'complianceOutbox' | 'complianceStore' | 'fanOutProgress';

/**
 * What a function reaches, so the stack grants exactly that: each key has one `bind…` method on the function
 * construct (infra/constructs/app-function.ts), called by the stack for the keys a spec sets. Keep it to what the
 * function's entry point composes (test/unit/infra/function-grants.test.ts checks each key against its imports).
 */
export interface FunctionUses {
  /** The stores of the table it reads and writes (their item calls only: never Scan, streams or table management). */
  readonly table?: readonly TableStore[];
  /** Posts to, reads or deletes WebSocket connections through the management API. */
  readonly connections?: boolean;
  /** Arms and cancels timers (EventBridge Scheduler schedules in the app's group). */
  readonly timers?: boolean;
  /** Sends compliance events to the compliance queue. */
  readonly complianceQueue?: boolean;
  /** Writes batch files to the compliance archive (the compliance bucket on AWS). */
  readonly complianceArchive?: boolean;
  /** Presigns PUT and GET URLs of chat files in the files bucket (its `rooms/` prefix). */
  readonly files?: boolean;
  /** Queues the shards of large fan-outs on the fan-out queue (docs/architecture.md, "Fan-out tier"). */
  readonly fanOutQueue?: boolean;
}

export interface FunctionSpec {
  /** Logical name: the local cloud's function name and the CDK construct id. */
  readonly name: string;
  /** Entry file, relative to the repository root, exporting `handler`. */
  readonly entry: string;
  /** WebSocket route keys served (`$connect`, `$disconnect`, `$default` or an `action`). */
  readonly routes: readonly RouteKey[];
  /** What the function reaches, so the stack grants exactly that. */
  readonly uses: FunctionUses;
  /** What invokes it besides WebSocket routes. */
  readonly trigger?: 'scheduler' | 'complianceQueue' | 'complianceExport' | 'fanOutQueue';
}

export const AUTHORIZER: FunctionSpec = {
  name: 'authorizer',
  entry: 'functions/authorizer.ts',
  routes: [],
  uses: {},
};

export const APP_FUNCTIONS: readonly FunctionSpec[] = [
  // $connect posts: a user coming online is a presence change for their subscribers.
  { name: 'connect', entry: 'functions/connect.ts', routes: ['$connect'], uses: { table: ['connections', 'presence'], connections: true } },
  {
    name: 'disconnect',
    entry: 'functions/disconnect.ts',
    routes: ['$disconnect'],
    // Leaving meetings (conferences) arms their timers and archives the leave.
    uses: { table: ['connections', 'presence', 'conferences', 'complianceOutbox'], connections: true, timers: true, complianceQueue: true },
  },
  {
    name: 'default',
    entry: 'functions/default.ts',
    routes: ['$default'],
    uses: {},
  },
  {
    name: 'timer',
    entry: 'functions/timer.ts',
    routes: [],
    trigger: 'scheduler',
    uses: { table: ['connections', 'presence', 'conversations', 'conferences', 'complianceOutbox'], connections: true, timers: true, complianceQueue: true },
  },
  {
    name: 'compliance-consumer',
    entry: 'functions/compliance-consumer.ts',
    routes: [],
    trigger: 'complianceQueue',
    uses: { table: ['complianceStore'] },
  },
  // Every COMPLIANCE_EXPORT_SECONDS, a recurring schedule of its own (COMPLIANCE_EXPORT_SCHEDULE).
  {
    name: 'compliance-export',
    entry: 'functions/compliance-export.ts',
    routes: [],
    trigger: 'complianceExport',
    uses: { table: ['complianceStore', 'complianceOutbox'], complianceArchive: true },
  },
  {
    name: 'im',
    entry: 'functions/im.ts',
    routes: IM_ACTIONS,
    uses: { table: ['connections', 'conversations', 'complianceOutbox'], connections: true, timers: true, complianceQueue: true },
  },
  {
    name: 'presence',
    entry: 'functions/presence.ts',
    routes: PRESENCE_ACTIONS,
    uses: { table: ['connections', 'presence'], connections: true, timers: true },
  },
  {
    name: 'session',
    entry: 'functions/session.ts',
    routes: SESSION_ACTIONS,
    // Missed chat messages it returns are a read, archived like chat.bccontext; IM read state (issue 22 item 3).
    uses: { table: ['connections', 'presence', 'chat', 'conversations', 'complianceOutbox'], connections: true, complianceQueue: true },
  },
  {
    name: 'conference',
    entry: 'functions/conference.ts',
    routes: CONFERENCE_ACTIONS,
    uses: { table: ['connections', 'conferences', 'complianceOutbox'], connections: true, timers: true, complianceQueue: true },
  },
  {
    name: 'system',
    entry: 'functions/system.ts',
    routes: SYSTEM_ACTIONS,
    // `pong` touches nothing.
    uses: {},
  },
  {
    name: 'chat',
    entry: 'functions/chat.ts',
    routes: CHAT_ACTIONS,
    // chat.occupants reads the presence aggregates of a room's followers.
    uses: { table: ['connections', 'presence', 'chat', 'complianceOutbox'], connections: true, complianceQueue: true, files: true, fanOutQueue: true },
  },
  // The fan-out tier's worker: posts the shards the chat function queues for large rooms, removing gone connections.
  {
    name: 'fanout-worker',
    entry: 'functions/fanout-worker.ts',
    routes: [],
    trigger: 'fanOutQueue',
    uses: { table: ['connections', 'fanOutProgress'], connections: true },
  },
];

/** Route key → function name, for the local gateway's route selection on `$request.body.action`. */
export function routeTable(functions: readonly FunctionSpec[] = APP_FUNCTIONS): ReadonlyMap<string, string> {
  const table = new Map<string, string>();
  for (const fn of functions) {
    for (const route of fn.routes) {
      if (table.has(route)) throw new Error(`route ${route} is served by both ${table.get(route)} and ${fn.name}`);
      table.set(route, fn.name);
    }
  }
  return table;
}

/** Local names of the queues and the schedule group (the CDK stack names its own). */
export const LOCAL_RESOURCE_NAMES = {
  complianceQueue: 'uc-compliance',
  complianceDeadLetterQueue: 'uc-compliance-dlq',
  fanOutQueue: 'uc-fanout',
  fanOutDeadLetterQueue: 'uc-fanout-dlq',
  timerDeadLetterQueue: 'uc-timers-dlq',
  scheduleGroup: 'uc-timers',
  filesBucket: 'uc-files',
  schedulerRoleArn: 'arn:aws:iam::000000000000:role/uc-scheduler',
} as const;

/** The recurring schedule that runs the compliance export (in the app's schedule group). */
export const COMPLIANCE_EXPORT_SCHEDULE = 'compliance-export';

/** A message is tried this many times before the compliance queue moves it to its dead-letter queue. */
export const COMPLIANCE_MAX_RECEIVE_COUNT = 5;

/**
 * The fan-out queue (docs/architecture.md, "Fan-out tier"): a shard is tried this many times before it goes to its
 * dead-letter queue; its worker takes batches of FANOUT_BATCH_SIZE shards (posted in parallel) and runs at most
 * FANOUT_WORKER_CONCURRENCY batches at once (the event source's maximum concurrency, its reserved concurrency on AWS).
 * FANOUT_VISIBILITY_SECONDS is six times the worker's timeout, as Lambda's SQS event source advises.
 */
export const FANOUT_MAX_RECEIVE_COUNT = 3;
export const FANOUT_BATCH_SIZE = 4;
export const FANOUT_WORKER_CONCURRENCY = 50;
export const FANOUT_VISIBILITY_SECONDS = 90;

/**
 * Reserved concurrency per function on AWS (the stack's `uc:reservedConcurrency`): the in-flight bound of SPEC §6
 * there, since one Lambda instance runs one command at a time (functions/lib/in-flight.ts). Over it, API Gateway's
 * invocation is throttled and the client gets an error it retries with its client id. The sum (726) leaves the
 * 100 unreserved executions AWS requires in an account of the default 1,000 quota.
 */
export const RESERVED_CONCURRENCY: Readonly<Record<string, number>> = {
  authorizer: 100,
  connect: 50,
  disconnect: 50,
  default: 10,
  timer: 20,
  'compliance-consumer': 5,
  'compliance-export': 1,
  im: 100,
  presence: 100,
  session: 20,
  conference: 100,
  system: 20,
  chat: 100,
  'fanout-worker': FANOUT_WORKER_CONCURRENCY,
};

/** DynamoDB item actions (IAM names; a TransactWriteItems needs those of its parts, ConditionCheckItem included). */
export type TableAction = 'GetItem' | 'BatchGetItem' | 'Query' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'BatchWriteItem' | 'ConditionCheckItem';

const TABLE_ACTION_ORDER: readonly TableAction[] = ['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'ConditionCheckItem'];

/**
 * The DynamoDB calls each store adapter makes (shared/adapters/*-dynamodb.ts, with the helpers of
 * dynamodb-operations.ts), transactions counted by their parts. test/unit/infra/function-grants.test.ts reads the
 * adapters and fails when one makes a call not listed here, or no longer makes one that is.
 */
export const STORE_TABLE_ACTIONS: Readonly<Record<TableStore, readonly TableAction[]>> = {
  connections: ['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'],
  presence: ['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'],
  conversations: ['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'],
  conferences: ['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'ConditionCheckItem'],
  chat: ['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'],
  // Its Put rides in the command's own transaction (so the command's function needs PutItem for it too).
  complianceOutbox: ['Query', 'PutItem', 'DeleteItem'],
  complianceStore: ['BatchGetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'],
  fanOutProgress: ['GetItem', 'PutItem'],
};

/** The stores that query the table's global secondary index (GSI1, `IndexName` in their adapters). */
export const STORES_QUERYING_INDEX: readonly TableStore[] = ['connections', 'presence', 'conversations', 'conferences', 'chat'];

/** Whether a function queries the index: granted Query on `…/index/*` only then. */
export function queriesIndex(uses: FunctionUses): boolean {
  return (uses.table ?? []).some((store) => STORES_QUERYING_INDEX.includes(store));
}

/** The DynamoDB item calls a function is granted: those of the stores it uses, exactly (no Scan, streams or table management). */
export function tableActionsOf(uses: FunctionUses): readonly TableAction[] {
  const actions = new Set((uses.table ?? []).flatMap((store) => STORE_TABLE_ACTIONS[store]));
  return TABLE_ACTION_ORDER.filter((action) => actions.has(action));
}

/** Functions Lambda invokes asynchronously (Scheduler): each has an on-failure destination. */
export function isAsync(spec: FunctionSpec): boolean {
  return spec.trigger === 'scheduler' || spec.trigger === 'complianceExport';
}
