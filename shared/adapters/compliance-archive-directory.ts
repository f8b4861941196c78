import { randomUUID } from 'node:crypto';
import { link, mkdir, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ArchiveFormat } from '../compliance/formats';
import type { ComplianceArchive, ExportBatch } from '../compliance/ports';

/**
 * The archive as a directory (COMPLIANCE_EXPORT_DIR, the local cloud): one file per batch, named by the
 * batch id. The file is written aside and hard-linked into place, which fails if the name exists: a batch is
 * written at most once, and a reader never sees half a file.
 */
export class DirectoryArchive implements ComplianceArchive {
  readonly location: string;

  constructor(
    directory: string,
    private readonly format: ArchiveFormat,
  ) {
    this.location = resolve(directory);
  }

  async write(batch: ExportBatch): Promise<'written' | 'exists'> {
    await mkdir(this.location, { recursive: true });
    const target = join(this.location, `${batch.batchId}.${this.format.extension}`);
    const staging = join(this.location, `.${batch.batchId}.${randomUUID()}.tmp`);
    await writeFile(staging, this.format.render(batch), { flag: 'wx' });
    try {
      await link(staging, target);
      return 'written';
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return 'exists';
      throw error;
    } finally {
      await unlink(staging);
    }
  }
}
