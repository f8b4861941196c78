import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PutObjectCommand } from '@aws-sdk/client-s3';
import { DirectoryArchive } from '../../../../shared/adapters/compliance-archive-directory';
import { S3Archive } from '../../../../shared/adapters/compliance-archive-s3';
import type { ComplianceEvent } from '../../../../shared/compliance/event';
import { jsonLinesFormat, xmlFormat } from '../../../../shared/compliance/formats';
import type { ExportBatch } from '../../../../shared/compliance/ports';

/** The two destinations of the compliance adapter: each writes a batch id at most once. */

const event: ComplianceEvent = {
  eventId: 'conf.join:conf_1:1',
  type: 'conf.join',
  actor: { uri: 'sip:bob@contoso.com', kind: 'enterprise', name: 'Bob' },
  target: { kind: 'conference', id: 'conf_1', name: 'Weekly' },
  at: 1_700_000_000_000,
};
const batch: ExportBatch = { batchId: '20231114T221320Z-abc', events: [event] };

describe('DirectoryArchive', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'archive-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('one file per batch, named by its id; a second write of the id leaves the first file alone', async () => {
    const archive = new DirectoryArchive(join(dir, 'nested'), xmlFormat);
    expect(await archive.write(batch)).toBe('written');
    expect(await archive.write({ ...batch, events: [{ ...event, eventId: 'other' }] })).toBe('exists');
    expect(await readdir(join(dir, 'nested'))).toEqual([`${batch.batchId}.xml`]);
    expect(await readFile(join(dir, 'nested', `${batch.batchId}.xml`), 'utf8')).toBe(xmlFormat.render(batch));
  });

  test('concurrent writes of the same batch make one file', async () => {
    const archive = new DirectoryArchive(dir, jsonLinesFormat);
    const outcomes = await Promise.all([archive.write(batch), archive.write(batch), archive.write(batch)]);
    expect(outcomes.filter((o) => o === 'written')).toHaveLength(1);
    expect(await readdir(dir)).toEqual([`${batch.batchId}.jsonl`]);
  });
});

describe('S3Archive', () => {
  test('puts the rendered batch under its id with If-None-Match, and takes 412 as already there', async () => {
    const sent: PutObjectCommand[] = [];
    let exists = false;
    const client = {
      send: async (command: PutObjectCommand) => {
        sent.push(command);
        if (exists) throw Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
        exists = true;
        return {};
      },
    };
    const archive = new S3Archive(client as never, 'archive-bucket', xmlFormat);
    expect(archive.location).toBe('s3://archive-bucket/compliance/');
    expect(await archive.write(batch)).toBe('written');
    expect(await archive.write(batch)).toBe('exists');
    expect(sent[0]!.input).toEqual({
      Bucket: 'archive-bucket',
      Key: `compliance/${batch.batchId}.xml`,
      Body: xmlFormat.render(batch),
      ContentType: 'application/xml',
      IfNoneMatch: '*',
    });
  });

  test('any other failure is the run failing (its events stay pending)', async () => {
    const client = { send: async () => Promise.reject(Object.assign(new Error('conflict'), { name: 'ConditionalRequestConflict', $metadata: { httpStatusCode: 409 } })) };
    await expect(new S3Archive(client as never, 'b', jsonLinesFormat).write(batch)).rejects.toThrow('conflict');
  });
});
