/**
 * Least privilege (issue 18 item 5): a function's grants come from its spec's `uses` (infra/functions.ts), and
 * - each store's item calls (STORE_TABLE_ACTIONS) are exactly the calls its adapter makes, read from the adapter's
 *   source: an SDK command or a dynamodb-operations helper, and a transaction's parts (a TransactWriteItems is
 *   authorized by its parts' actions). A call added to an adapter without its grant would fail on AWS only (the
 *   local cloud does not check IAM): here first.
 * - each thing a spec says a function uses is implemented by an adapter its entry point imports (following its
 *   relative imports): a grant for something the function's code cannot reach is one too many.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { AUTHORIZER, APP_FUNCTIONS, type FunctionUses, STORE_TABLE_ACTIONS, STORES_QUERYING_INDEX, type TableAction, type TableStore, tableActionsOf } from '../../../infra/functions';

const ROOT = join(__dirname, '..', '..', '..');

/** The adapter of each store (a new store: its file here, or tsc fails). */
const ADAPTERS: Readonly<Record<TableStore, string>> = {
  connections: 'shared/adapters/connection-store-dynamodb.ts',
  presence: 'shared/adapters/presence-store-dynamodb.ts',
  conversations: 'shared/adapters/conversation-store-dynamodb.ts',
  conferences: 'shared/adapters/conference-store-dynamodb.ts',
  chat: 'shared/adapters/chat-store-dynamodb.ts',
  complianceOutbox: 'shared/adapters/compliance-outbox-dynamodb.ts',
  complianceStore: 'shared/adapters/compliance-store-dynamodb.ts',
  fanOutProgress: 'shared/adapters/shard-progress-dynamodb.ts',
};

/** What in an adapter's source makes which IAM action necessary. */
const CALLS: readonly [RegExp, TableAction][] = [
  [/\bnew GetCommand\b/, 'GetItem'],
  [/\bnew TransactGetCommand\b/, 'GetItem'],
  [/\bnew PutCommand\b/, 'PutItem'],
  [/\bnew UpdateCommand\b/, 'UpdateItem'],
  [/\bnew DeleteCommand\b/, 'DeleteItem'],
  [/\bnew QueryCommand\b|\bqueryAll\(/, 'Query'],
  [/\bnew BatchGetCommand\b|\bbatchGetAll\(/, 'BatchGetItem'],
  [/\bnew BatchWriteCommand\b|\bbatchWriteAll\(/, 'BatchWriteItem'],
  // A transaction's parts, as TransactItems: `{ Put: {...} }`, `{ Update: ... }`, `{ Delete: ... }`, `{ ConditionCheck: ... }`.
  [/\bPut: \{/, 'PutItem'],
  [/\bUpdate: \{/, 'UpdateItem'],
  [/\bDelete: \{/, 'DeleteItem'],
  [/\bConditionCheck: \{/, 'ConditionCheckItem'],
];

/** The item calls the source makes; comments are left out. */
function callsOf(source: string): Set<TableAction> {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
  return new Set(CALLS.filter(([pattern]) => pattern.test(code)).map(([, action]) => action));
}

/**
 * A store adapter's code: its file and the adapter files it imports (a store split into parts, e.g. the chat
 * store's `chat-*-dynamodb.ts`); not another store (its calls are its own: a function that writes another store's
 * item in a transaction names that store too) nor the shared helpers of dynamodb-operations.ts, counted by their names.
 */
function storeSource(file: string): string {
  const excluded = new Set(['shared/adapters/dynamodb-operations.ts', 'shared/adapters/dynamodb.ts', ...Object.values(ADAPTERS)]);
  const files = reachable(file, (target) => target.startsWith('shared/adapters/') && !target.startsWith('shared/adapters/aws-clients/') && !excluded.has(target));
  return [...files].map((part) => readFileSync(join(ROOT, part), 'utf8')).join('\n');
}

test.each(Object.entries(ADAPTERS) as [TableStore, string][])('store %s is granted exactly the calls of %s', (store, file) => {
  const calls = callsOf(storeSource(file));
  expect(calls.size).toBeGreaterThan(0);
  expect([...STORE_TABLE_ACTIONS[store]].sort()).toEqual([...calls].sort());
});

test.each(Object.entries(ADAPTERS) as [TableStore, string][])('store %s queries the index exactly when STORES_QUERYING_INDEX says (%s)', (store, file) => {
  const code = storeSource(file).replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
  expect(STORES_QUERYING_INDEX.includes(store)).toBe(/\bIndexName\b/.test(code));
});

test('the scan itself: SDK commands, helpers and transaction parts are recognized, comments are not', () => {
  const source = [
    "await client.send(new QueryCommand({ TableName }));",
    "await batchWriteAll(client, table, requests);",
    "const item = { Put: { TableName, Item } };",
    '// { Delete: { TableName, Key } } only in a comment',
    '/* new ScanCommand, new DeleteCommand */',
  ].join('\n');
  expect([...callsOf(source)].sort()).toEqual(['BatchWriteItem', 'PutItem', 'Query']);
});

test('a function is granted the union of its stores, never Scan, streams or table management', () => {
  expect(tableActionsOf({})).toEqual([]);
  expect(tableActionsOf({ table: ['complianceOutbox'] })).toEqual(['Query', 'PutItem', 'DeleteItem']);
  expect(tableActionsOf({ table: ['conversations', 'complianceOutbox'] })).toEqual(['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem']);
  const all = tableActionsOf({ table: Object.keys(ADAPTERS) as TableStore[] });
  expect(all.some((action) => /Scan|Stream|Table/.test(action))).toBe(false);
});

/** The adapter that implements each other kind of resource a spec may name (a new kind: its file here, or tsc fails). */
const RESOURCE_ADAPTERS: Readonly<Record<Exclude<keyof FunctionUses, 'table'>, string>> = {
  connections: 'shared/adapters/apigw-connections.ts',
  timers: 'shared/adapters/scheduler-timers.ts',
  complianceQueue: 'shared/adapters/sqs-queue.ts',
  fanOutQueue: 'shared/adapters/fanout-queue-sqs.ts',
  files: 'shared/adapters/s3-file-storage.ts',
  complianceArchive: 'shared/adapters/compliance-archive-s3.ts',
};

/**
 * The repository's files an entry point reaches through relative imports (static and `require`), type-only ones
 * left out; with `follow`, only through the files (repository-relative paths) it accepts.
 */
function reachable(entry: string, follow: (file: string) => boolean = () => true): Set<string> {
  const seen = new Set<string>();
  const pending = [join(ROOT, entry)];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file) || (seen.size > 0 && !follow(relative(ROOT, file)))) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    const specifiers = [
      ...[...source.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^;]*?from\s+'(\.[^']+)'/gms)].map((match) => match[1]!),
      ...[...source.matchAll(/(?:require|import)\(\s*'(\.[^']+)'\s*\)/g)].map((match) => match[1]!),
    ];
    for (const specifier of specifiers) {
      const base = resolve(dirname(file), specifier);
      const target = [`${base}.ts`, join(base, 'index.ts'), base].find((candidate) => existsSync(candidate) && candidate.endsWith('.ts'));
      if (target) pending.push(target);
    }
  }
  return new Set([...seen].map((file) => relative(ROOT, file)));
}

describe.each([AUTHORIZER, ...APP_FUNCTIONS].map((spec) => [spec.name, spec] as const))('function %s', (_name, spec) => {
  test('reaches an adapter for everything its spec is granted', () => {
    const files = reachable(spec.entry);
    const declared = [
      ...(spec.uses.table ?? []).map((store) => ADAPTERS[store]),
      ...(Object.keys(RESOURCE_ADAPTERS) as (keyof typeof RESOURCE_ADAPTERS)[]).filter((key) => spec.uses[key]).map((key) => RESOURCE_ADAPTERS[key]),
    ];
    expect(declared.filter((adapter) => !files.has(adapter))).toEqual([]);
  });
});

test('the import walk follows relative imports and leaves type-only ones out', () => {
  const files = reachable('functions/system.ts');
  expect(files.has('functions/lib/command-pipeline.ts')).toBe(true);
  // system.ts imports the command handler for its route types only, and the action lists import the schemas' types only.
  expect(files.has('functions/lib/command-handler.ts')).toBe(false);
  expect(files.has('shared/protocol/actions.ts')).toBe(true);
  expect(files.has('shared/protocol/commands.ts')).toBe(false);
  const parts = reachable('shared/adapters/chat-store-dynamodb.ts', (file) => file.startsWith('shared/adapters/'));
  expect([...parts].every((file) => file.startsWith('shared/adapters/'))).toBe(true);
  expect(parts.size).toBeGreaterThan(1);
});
