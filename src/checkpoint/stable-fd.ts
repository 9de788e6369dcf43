/**
 * Read-only descriptors of a database's files that are never closed. POSIX advisory
 * locks belong to the process and the file: closing any descriptor of the database or
 * its `-shm` file drops every lock this process holds on it, SQLite's own included
 * (https://www.sqlite.org/howtocorrupt.html §2.2). SQLite keeps such descriptors open
 * for the same reason. One per file (device and inode), so the count is bounded by the
 * databases a process checkpoints.
 */
import { fstatSync, openSync, statSync } from 'node:fs';

const fds = new Map<string, number>();

/** A descriptor of `path` for reading; the same one every time for the same file. */
export function stableFd(path: string): number {
  const st = statSync(path, { bigint: true });
  const key = `${st.dev}:${st.ino}`;
  let fd = fds.get(key);
  if (fd === undefined) {
    fd = openSync(path, 'r');
    const got = fstatSync(fd, { bigint: true });
    // (Replaced between the stat and the open: key it by what was opened.)
    fds.set(`${got.dev}:${got.ino}`, fd);
  }
  return fd;
}
