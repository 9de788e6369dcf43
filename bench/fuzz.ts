/**
 * The long fuzzing run (reliability issue): every target of test/fuzz-targets.ts (random
 * bytes and structure-aware mutation of real objects) with many cases. Prints cases,
 * time, what the mutated inputs came to, and failures.
 *
 *   node dist/bench/fuzz.js [--runs 100000] [--time-limit 600] [--seed N] [--only <substring>]
 *
 * --runs: cases per target (the hot-page walks, 10× costlier, get a tenth).
 * --time-limit: seconds per target (default 1800). A target cut short by it FAILS: the
 * exit code is 1 whenever a target failed, was interrupted before all its cases ran, or
 * its mutations never got both accepted and rejected inputs. (A run killed from outside
 * exits non-zero by the signal.)
 */
import { fuzzTargets, runTarget } from '../test/fuzz-targets.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const runs = Number(arg('--runs') ?? 100_000);
const timeLimitS = Number(arg('--time-limit') ?? 1800);
const seedArg = arg('--seed');
const only = arg('--only');
if (!(runs >= 1) || !(timeLimitS > 0) || (seedArg !== undefined && !Number.isSafeInteger(Number(seedArg)))) {
  console.error('usage: node dist/bench/fuzz.js [--runs N ≥ 1] [--time-limit SECONDS > 0] [--seed N] [--only SUBSTRING]');
  process.exit(2);
}

let failed = 0;
let total = 0;
let matched = 0;
const t00 = performance.now();
for (const t of await fuzzTargets()) {
  if (only && !t.name.includes(only)) continue;
  matched++;
  const wanted = Math.max(1, Math.ceil(runs / t.cost));
  const r = await runTarget(t, wanted, { seed: seedArg !== undefined ? Number(seedArg) : undefined, timeLimitMs: timeLimitS * 1000 });
  total += r.numRuns;
  const problems = r.problems;
  if (problems.length) failed++;
  console.log(`${t.name}: ${r.numRuns} cases in ${r.seconds.toFixed(1)} s: ${problems.length ? `FAILED: ${problems.join('; ')}` : 'ok'}`);
  if (r.report) console.log(r.report.split('\n').map((l) => `  ${l.slice(0, 600)}`).join('\n'));
  if (t.outcomes) console.log(`  ${t.outcomes.summary()}`);
}
console.log(`${total} cases in ${((performance.now() - t00) / 1000).toFixed(1)} s; ${failed ? `${failed} target(s) FAILED` : 'all ok'}`);
if (!matched) console.error(`no target matches --only ${only}`);
process.exitCode = failed || !matched ? 1 : 0;
