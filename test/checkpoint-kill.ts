/**
 * A checkpoint process for the kill tests: publishes <db> to the local directory
 * <target> and, with <k> <before|after>, kills itself with SIGKILL just before or just
 * after its k-th write (0-based): a real kill -9 at a chosen point, no hook in the code
 * under test. Prints each write's key, then the result as JSON.
 *   node dist/test/checkpoint-kill.js <db> <target> [<k> <before|after>]
 */
import { checkpointOnce } from '../src/checkpoint/checkpoint.js';
import { LocalDirStore } from '../src/storage/local.js';

const [db, target, kArg, when] = process.argv.slice(2);
const store = new LocalDirStore(target);
const put = store.put.bind(store);
let writes = 0;
const die = () => process.kill(process.pid, 'SIGKILL');
store.put = async (key, body, opts) => {
  const k = writes++;
  process.stdout.write(`write ${k} ${key}\n`);
  if (String(k) === kArg && when === 'before') die();
  const r = await put(key, body, opts);
  if (String(k) === kArg && when === 'after') die();
  return r;
};
// Small blocks, leaves and packs: a commit makes several writes of every kind.
const r = await checkpointOnce(db, store, { blockSize: 4096, blocksPerLeaf: 8, fanout: 4, packSize: 16384, concurrency: 1 });
process.stdout.write(`${JSON.stringify(r)}\n`);
