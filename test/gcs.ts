/**
 * The Cloud Storage emulator of firebase-tools, started as a plain Node server (see
 * test/gcs-emulator.cjs), behind a recording proxy: the emulator ignores preconditions,
 * so tests prove the commit logic by what the backend sends (the proxy's log).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { freePort } from './servers.js';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface GcsEmulator {
  /** The proxy in front of the emulator: give it to the SDK as apiEndpoint. */
  endpoint: string;
  /** Method and URL of every request seen. */
  requests: { method: string; url: string }[];
  stop(): Promise<void>;
}

export function firebaseToolsDir(): string {
  const dir = process.env.BUCKETLITE_FIREBASE_TOOLS ?? path.resolve(import.meta.dirname, '..', '.ci', 'gcs-emulator', 'node_modules', 'firebase-tools');
  if (!existsSync(path.join(dir, 'lib', 'emulator', 'storage', 'index.js'))) {
    throw new Error(`firebase-tools is not installed at ${dir}: run bash .ci/setup (it installs the pinned version there)`);
  }
  return dir;
}


export async function startGcsEmulator(): Promise<GcsEmulator> {
  const fbt = firebaseToolsDir();
  const port = await freePort();
  const tmp = mkdtempSync(path.join(tmpdir(), 'bl-gcs-'));
  const child = spawn(process.execPath, [path.resolve(import.meta.dirname, 'gcs-emulator.cjs'), fbt, String(port)], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => { if (String(d).includes('ready')) resolve(); });
    child.on('exit', (code) => reject(new Error(`the GCS emulator exited (${code}): ${err}`)));
  });
  const requests: { method: string; url: string }[] = [];
  const agent = new http.Agent({ keepAlive: true });
  const proxy = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '' });
    const up = http.request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers, agent }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port: proxyPort } = proxy.address() as net.AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${proxyPort}`,
    requests,
    stop: async () => {
      proxy.closeAllConnections();
      await new Promise<void>((r) => proxy.close(() => r()));
      agent.destroy();
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.on('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}
