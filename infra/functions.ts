/**
 * The app's Lambda functions and the WebSocket routes each one serves. The CDK stack and the local cloud
 * both read this list, so the deployed API and the local gateway route every action to the same handler.
 */
export interface FunctionSpec {
  /** Logical name: the local cloud's function name and the CDK construct id. */
  readonly name: string;
  /** Entry file, relative to the repository root, exporting `handler`. */
  readonly entry: string;
  /** WebSocket route keys served (`$connect`, `$disconnect`, `$default` or an `action`). */
  readonly routes: readonly string[];
  /** What the function reaches, so the stack grants exactly that. */
  readonly uses: {
    readonly table?: 'read' | 'readWrite';
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
  };
  /** What invokes it besides WebSocket routes. */
  readonly trigger?: 'scheduler' | 'complianceQueue' | 'complianceExport';
}

export const AUTHORIZER: FunctionSpec = {
  name: 'authorizer',
  entry: 'functions/authorizer.ts',
  routes: [],
  uses: {},
};

export const APP_FUNCTIONS: readonly FunctionSpec[] = [
  // $connect posts: a user coming online is a presence change for their subscribers.
  { name: 'connect', entry: 'functions/connect.ts', routes: ['$connect'], uses: { table: 'readWrite', connections: true } },
  {
    name: 'disconnect',
    entry: 'functions/disconnect.ts',
    routes: ['$disconnect'],
    uses: { table: 'readWrite', connections: true, timers: true, complianceQueue: true },
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
    uses: { table: 'readWrite', connections: true, timers: true, complianceQueue: true },
  },
  {
    name: 'compliance-consumer',
    entry: 'functions/compliance-consumer.ts',
    routes: [],
    trigger: 'complianceQueue',
    uses: { table: 'readWrite' },
  },
  // Every COMPLIANCE_EXPORT_SECONDS, a recurring schedule of its own (COMPLIANCE_EXPORT_SCHEDULE).
  {
    name: 'compliance-export',
    entry: 'functions/compliance-export.ts',
    routes: [],
    trigger: 'complianceExport',
    uses: { table: 'readWrite', complianceArchive: true },
  },
  {
    name: 'im',
    entry: 'functions/im.ts',
    routes: ['im.send', 'im.typing', 'im.keepalive', 'im.leave', 'im.history'],
    uses: { table: 'readWrite', connections: true, timers: true, complianceQueue: true },
  },
  {
    name: 'presence',
    entry: 'functions/presence.ts',
    routes: ['presence.publish', 'presence.subscribe', 'presence.refresh', 'presence.unsubscribe'],
    uses: { table: 'readWrite', connections: true, timers: true },
  },
  {
    name: 'session',
    entry: 'functions/session.ts',
    routes: ['session.resume'],
    // Missed chat messages it returns are a read, archived like chat.bccontext.
    uses: { table: 'readWrite', connections: true, complianceQueue: true },
  },
  {
    name: 'conference',
    entry: 'functions/conference.ts',
    routes: [
      'conf.schedule',
      'conf.get',
      'conf.join',
      'conf.leave',
      'conf.update',
      'conf.end',
      'conf.delete',
      'conf.admit',
      'conf.deny',
      'conf.content.add',
      'conf.content.list',
      'admin.deleteUser',
    ],
    uses: { table: 'readWrite', connections: true, timers: true, complianceQueue: true },
  },
  {
    name: 'system',
    entry: 'functions/system.ts',
    routes: ['ping'],
    // `pong` touches nothing.
    uses: {},
  },
  {
    name: 'chat',
    entry: 'functions/chat.ts',
    routes: [
      'chat.getserverinfo',
      'admin.category.put',
      'room.create',
      'room.update',
      'room.delete',
      'room.invite',
      'chat.getassociations',
      'chat.chansrch',
      'chat.join',
      'chat.bjoin',
      'chat.part',
      'chat.bccontext',
      'chat.grpchat',
      'chat.getinv',
      'chat.search',
      'chat.file.upload',
      'chat.file.download',
    ],
    uses: { table: 'readWrite', connections: true, complianceQueue: true, files: true },
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
 * Reserved concurrency per function on AWS (the stack's `uc:reservedConcurrency`): the in-flight bound of SPEC §6
 * there, since one Lambda instance runs one command at a time (functions/lib/in-flight.ts). Over it, API Gateway's
 * invocation is throttled and the client gets an error it retries with its client id. The sum (676) leaves the
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
};

/** DynamoDB item actions (IAM names; a TransactWriteItems needs those of its parts, ConditionCheckItem included). */
export type TableAction = 'GetItem' | 'BatchGetItem' | 'Query' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'BatchWriteItem' | 'ConditionCheckItem';

const COMMAND_TABLE_ACTIONS: readonly TableAction[] = ['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'ConditionCheckItem'];

/**
 * The DynamoDB calls each function makes (shared/adapters/*-dynamodb.ts), granted exactly: never Scan, streams
 * or table management. The compliance functions touch only the compliance store and outbox.
 */
export function tableActionsOf(spec: FunctionSpec): readonly TableAction[] {
  if (!spec.uses.table) return [];
  if (spec.uses.table === 'read') return ['GetItem', 'BatchGetItem', 'Query'];
  // The compliance store and outbox (batchGetAll / batchWriteAll, transactions of puts, updates and deletes).
  if (spec.trigger === 'complianceQueue' || spec.trigger === 'complianceExport') return ['BatchGetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'];
  return COMMAND_TABLE_ACTIONS;
}

/** Functions Lambda invokes asynchronously (Scheduler): each has an on-failure destination. */
export function isAsync(spec: FunctionSpec): boolean {
  return spec.trigger === 'scheduler' || spec.trigger === 'complianceExport';
}
