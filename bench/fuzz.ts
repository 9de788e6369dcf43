/**
 * The long fuzzing run (reliability issue): every property of test/fuzz-targets.ts with
 * many random cases. Prints cases, time and failures.   node dist/bench/fuzz.js [--runs 100000]
 */
import fc from 'fast-check';
import { PROPERTIES } from '../test/fuzz-targets.js';

const i = process.argv.indexOf('--runs');
const runs = Number(i > 0 ? process.argv[i + 1] : 100_000);
let failed = 0;
for (const [name, prop] of Object.entries(PROPERTIES)) {
  const t0 = performance.now();
  const r = await fc.check(prop as fc.IAsyncProperty<[Uint8Array]>, { numRuns: name === 'hot-page walk' ? Math.ceil(runs / 10) : runs });
  const s = (performance.now() - t0) / 1000;
  if (r.failed) failed++;
  console.log(`${name}: ${r.numRuns} cases in ${s.toFixed(1)} s: ${r.failed ? `FAILED (seed ${r.seed}, ${String((r as { errorInstance?: unknown }).errorInstance)}, counterexample ${JSON.stringify(r.counterexample)?.slice(0, 300)})` : 'ok'}`);
}
process.exitCode = failed ? 1 : 0;
