/*
 * Sequential read speed of the disk the restore wrote to, measured on the same run so the restore
 * throughput has a yardstick. The file is read with O_DIRECT (`dd iflag=direct`): it bypasses the
 * page cache without dropping the caches of everything else running on the machine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { $ } from 'zx';

export interface DiskReadSpeed {
  readonly bytes: number;
  readonly seconds: number;
  readonly mbPerSecond: number;
  readonly gbPerMinute: number;
  readonly method: string;
}

export async function measureSequentialRead(dir: string, sizeMiB: number): Promise<DiskReadSpeed> {
  const work = mkdtempSync(join(dir, 'rf-disk-'));
  const file = join(work, 'sequential.bin');
  try {
    await $({ quiet: true })`dd if=/dev/urandom of=${file} bs=1M count=${sizeMiB} conv=fsync status=none`;
    const started = process.hrtime.bigint();
    await $({ quiet: true })`dd if=${file} of=/dev/null bs=4M iflag=direct status=none`;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const bytes = sizeMiB * 1024 * 1024;
    return {
      bytes,
      seconds: round(seconds, 3),
      mbPerSecond: round(bytes / 1e6 / seconds, 1),
      gbPerMinute: round((bytes / 1e9 / seconds) * 60, 2),
      method: `dd iflag=direct (O_DIRECT, page cache bypassed) of a ${sizeMiB} MiB file written just before`,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
