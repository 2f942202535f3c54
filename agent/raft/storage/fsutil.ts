/** Small durable-filesystem helpers. */
import { open } from 'node:fs/promises';

/** fsync a directory, so entries created, renamed or removed in it survive a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
