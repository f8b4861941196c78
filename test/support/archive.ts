import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { FaultHandle, FaultRequest, FaultRule } from '../../infra/local/faults';
import type { LocalCloudOptions } from '../../infra/local/cloud';
import { COMPLIANCE_SHARDS } from '../../shared/adapters/compliance-store-dynamodb';
import { dynamoDocumentClient } from '../../shared/adapters/aws-clients/dynamodb';
import type { ComplianceEvent } from '../../shared/compliance/event';
import { startTestCloud, type TestCloud } from './cloud';

/**
 * The compliance archive read back by the end-to-end suites (compliance, fault-injection-*): a cloud that exports
 * every few seconds into a directory of its own, the XML files parsed, and what is still left to export.
 */

/** A cloud whose compliance export runs every `exportSeconds` into `exportDir`, with fault injection at hand. */
export interface ArchivingCloud {
  readonly cloud: TestCloud;
  readonly exportDir: string;
  /** Injects a fault and keeps its handle, so `stop` can check that the injector counted each hit. */
  inject(rule: FaultRule): FaultHandle;
  /** The handles injected so far, with the test that injected each. */
  readonly injected: readonly { readonly test: string; readonly handle: FaultHandle }[];
  /** Checks every injected fault was counted, stops the cloud and removes the export directory. */
  stop(): Promise<void>;
}

export async function startArchivingCloud(
  name: string,
  options: { exportSeconds: number; env?: Readonly<Record<string, string>> } & Omit<LocalCloudOptions, 'port' | 'inMemory' | 'env'>,
): Promise<ArchivingCloud> {
  const { exportSeconds, env, ...cloudOptions } = options;
  const exportDir = await mkdtemp(join(tmpdir(), `uc-${name}-`));
  const cloud = await startTestCloud({
    complianceVisibilitySeconds: 1,
    ...cloudOptions,
    env: { COMPLIANCE_EXPORT_SECONDS: String(exportSeconds), COMPLIANCE_EXPORT_DIR: exportDir, ...env },
  });
  const injected: { test: string; handle: FaultHandle }[] = [];
  return {
    cloud,
    exportDir,
    injected,
    inject(rule) {
      const handle = cloud.cloud.faults.inject(rule);
      injected.push({ test: expect.getState().currentTestName ?? '', handle });
      return handle;
    },
    async stop() {
      try {
        expect(injected.reduce((sum, { handle }) => sum + handle.hits, 0)).toBe(cloud.cloud.faults.total);
      } finally {
        await cloud.stop();
        await rm(exportDir, { recursive: true, force: true });
      }
    },
  };
}

/** A fault matcher: the request's body holds every part (a room id, a text, an event type). */
export const bodyHas =
  (...parts: string[]) =>
  (request: FaultRequest): boolean =>
    parts.every((part) => request.body.includes(part));

export interface ArchivedEvent {
  readonly id: string;
  readonly type: string;
  readonly actor: string;
  readonly targetId: string;
  readonly targetName?: string;
  readonly reason?: string;
  readonly content?: string;
  /** The XML file it was found in. */
  readonly file: string;
}

export const unescapeXml = (text: string): string =>
  text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)))
    .replace(/&amp;/g, '&');

/** A text element's value as docs/compliance.md defines it: escaped text, or base64 of its UTF-8 / UTF-16LE. */
export function textValue(encoding: string | undefined, body: string): string {
  if (encoding === undefined) return unescapeXml(body);
  if (encoding === 'base64') return Buffer.from(body, 'base64').toString('utf8');
  if (encoding === 'base64-utf16le') return Buffer.from(body, 'base64').toString('utf16le');
  throw new Error(`unknown encoding ${encoding}`);
}

/** Every event in every XML file of the archive, repeats included. */
export async function readArchive(exportDir: string): Promise<ArchivedEvent[]> {
  const events: ArchivedEvent[] = [];
  for (const file of (await readdir(exportDir)).filter((name) => name.endsWith('.xml'))) {
    const xml = await readFile(join(exportDir, file), 'utf8');
    for (const [, id, type, body] of xml.matchAll(/<event id="([^"]*)" type="([^"]*)"[^>]*>([\s\S]*?)<\/event>/g)) {
      const content = /<content(?: encoding="([^"]*)")?>([^<]*)<\/content>/.exec(body!);
      const target = /<target kind="[^"]*" id="([^"]*)"(?: name="([^"]*)")?/.exec(body!);
      const exactName = /<name(?: encoding="([^"]*)")?>([^<]*)<\/name>/.exec(body!);
      const targetName = exactName ? textValue(exactName[1], exactName[2]!) : target?.[2] === undefined ? undefined : unescapeXml(target[2]);
      const reason = /<detail name="reason"[^>]*>([^<]*)<\/detail>/.exec(body!)?.[1];
      events.push({
        id: unescapeXml(id!),
        type: type!,
        actor: unescapeXml(/<actor uri="([^"]*)"/.exec(body!)?.[1] ?? ''),
        targetId: unescapeXml(target?.[1] ?? ''),
        ...(targetName === undefined ? {} : { targetName }),
        ...(reason === undefined ? {} : { reason }),
        ...(content ? { content: textValue(content[1], content[2]!) } : {}),
        file,
      });
    }
  }
  return events;
}

/** The compliance events under `CPEND` (pending export) or `OUTBOX` (not yet sent): a consistent read of every shard. */
export async function storedComplianceEvents(cloud: TestCloud, prefix: 'CPEND' | 'OUTBOX', where: (event: ComplianceEvent) => boolean = () => true): Promise<ComplianceEvent[]> {
  const pages = await Promise.all(
    Array.from({ length: COMPLIANCE_SHARDS }, (_, shard) =>
      dynamoDocumentClient(cloud.cloud.config).send(
        new QueryCommand({ TableName: cloud.cloud.config.TABLE_NAME, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': `${prefix}#${shard}` }, ConsistentRead: true }),
      ),
    ),
  );
  return pages.flatMap((page) => page.Items ?? []).map((item) => item.event as ComplianceEvent).filter(where);
}

/** Nothing `where` selects is left to export: not pending, not in the outbox, and no export batch in flight. */
export async function nothingLeftToExport(cloud: TestCloud, where: (event: ComplianceEvent) => boolean): Promise<boolean> {
  const { config } = cloud.cloud;
  const { Item } = await dynamoDocumentClient(config).send(new GetCommand({ TableName: config.TABLE_NAME, Key: { PK: 'CEXPORT', SK: 'STATE' }, ConsistentRead: true }));
  if (Item?.inFlight !== undefined) return false;
  return (await storedComplianceEvents(cloud, 'CPEND', where)).length === 0 && (await storedComplianceEvents(cloud, 'OUTBOX', where)).length === 0;
}
