/**
 * Drives test/wal-writer.ts (the application writing a WAL database from its own
 * process) for tests and benches: one JSON command per line, one reply each.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

// Built beside this file in dist/test; from the sources (vitest), the built one in dist.
const WRITER = [path.resolve(import.meta.dirname, 'wal-writer.js'), path.resolve(import.meta.dirname, '../dist/test/wal-writer.js')].find(existsSync)
  ?? path.resolve(import.meta.dirname, '../dist/test/wal-writer.js');

export class WalWriter {
  readonly child: ChildProcessWithoutNullStreams;
  private readonly replies: { resolve(line: string): void; reject(err: Error): void }[] = [];

  constructor(db: string) {
    if (!existsSync(WRITER)) throw new Error(`${WRITER} is missing: run npx tsc -p tsconfig.json`);
    this.child = spawn(process.execPath, [WRITER, db]);
    createInterface({ input: this.child.stdout }).on('line', (l) => this.replies.shift()?.resolve(l));
    this.child.stderr.on('data', (d) => process.stderr.write(`[writer] ${d}`));
    this.child.on('exit', (code) => { for (const r of this.replies.splice(0)) r.reject(new Error(`the writer exited (${code})`)); });
  }

  async send<T = unknown>(cmd: Record<string, unknown>): Promise<{ at: number; result: T }> {
    const reply = new Promise<string>((resolve, reject) => this.replies.push({ resolve, reject }));
    this.child.stdin.write(JSON.stringify(cmd) + '\n');
    const r = JSON.parse(await reply);
    if (!r.ok) throw new Error(`writer: ${r.error}`);
    return r;
  }

  /** Asks the writer to close its connection and exit; killed after 10 s. */
  async quit(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin.write('{"cmd":"quit"}\n');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
