/**
 * A real S3 server for tests: Ceph's radosgw from Debian's packages, on a one-node
 * cluster (mon + one memstore OSD + radosgw) bound to 127.0.0.1, started by the test
 * setup and stopped by PID. What was learned getting it to run is in
 * ../shared/notes/radosgw.md. Fails, never skips, when Ceph is not installed.
 */
import { spawn, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from './servers.js';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Radosgw {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}


export async function startRadosgw(): Promise<Radosgw> {
  for (const bin of ['ceph-mon', 'ceph-osd', 'radosgw', 'monmaptool']) {
    if (!existsSync(`/usr/bin/${bin}`)) throw new Error(`${bin} is not installed: apt-get install ceph-mon ceph-osd radosgw (.ci/run does this)`);
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'bl-rgw-'));
  const [p1, p2, rgwPort] = [await freePort(), await freePort(), await freePort()];
  const fsid = randomUUID();
  const conf = path.join(dir, 'ceph.conf');
  for (const d of ['run', 'log', 'mon', 'osd', 'rgw']) mkdirSync(path.join(dir, d));
  writeFileSync(conf, `[global]
fsid = ${fsid}
mon_host = [v2:127.0.0.1:${p2},v1:127.0.0.1:${p1}]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_ipv6 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc secure
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_crush_chooseleaf_type = 0
mon_warn_on_pool_no_redundancy = false
run_dir = ${dir}/run
log_file = ${dir}/log/$name.log
admin_socket = ${dir}/run/$name.asok
keyring = ${dir}/keyring
[mon.a]
mon_data = ${dir}/mon
[osd.0]
osd_data = ${dir}/osd
osd_objectstore = memstore
memstore_device_bytes = 2147483648
[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:${rgwPort}
rgw_data = ${dir}/rgw
`);
  const children: ChildProcess[] = [];
  const daemon = (cmd: string, args: string[]) => {
    const c = spawn(cmd, ['-c', conf, '-f', ...args], { stdio: 'ignore', detached: true });
    children.push(c);
    return c;
  };
  const stop = async () => {
    for (const c of children.reverse()) {
      if (c.exitCode === null && c.pid) {
        const exited = new Promise((r) => c.on('exit', r));
        try { process.kill(c.pid, 'SIGTERM'); } catch { /* gone */ }
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (c.exitCode === null) try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ }
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await run('monmaptool', ['--create', '--addv', 'a', `[v2:127.0.0.1:${p2},v1:127.0.0.1:${p1}]`, '--fsid', fsid, path.join(dir, 'monmap')]);
    await run('ceph-mon', ['-c', conf, '--mkfs', '-i', 'a', '--monmap', path.join(dir, 'monmap')]);
    daemon('ceph-mon', ['-i', 'a']);
    const osdUuid = randomUUID();
    const { stdout: id } = await run('ceph', ['-c', conf, '--connect-timeout', '20', 'osd', 'new', osdUuid], { timeout: 30_000 });
    await run('ceph-osd', ['-c', conf, '--mkfs', '-i', id.trim(), '--osd-uuid', osdUuid]);
    daemon('ceph-osd', ['-i', id.trim()]);
    for (let i = 0; ; i++) {
      const { stdout } = await run('ceph', ['-c', conf, '--connect-timeout', '10', 'osd', 'stat'], { timeout: 15_000 }).catch(() => ({ stdout: '' }));
      if (/1 up/.test(stdout)) break;
      if (i > 120) throw new Error('the OSD did not come up');
      await new Promise((r) => setTimeout(r, 250));
    }
    daemon('radosgw', ['-n', 'client.rgw.a']);
    const accessKeyId = `AK${randomUUID().replace(/-/g, '').slice(0, 18).toUpperCase()}`;
    const secretAccessKey = `SK-secret-${randomUUID()}`;
    await run('radosgw-admin', ['-c', conf, 'user', 'create', '--uid=test', '--display-name=test', `--access-key=${accessKeyId}`, `--secret=${secretAccessKey}`], { timeout: 60_000 });
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    // Ready when the S3 endpoint answers at all (403 to an anonymous request is an answer).
    for (let i = 0; ; i++) {
      const ok = await fetch(endpoint).then(() => true, () => false);
      if (ok) break;
      if (i > 240) throw new Error('radosgw did not answer');
      await new Promise((r) => setTimeout(r, 250));
    }
    return { endpoint, accessKeyId, secretAccessKey, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
